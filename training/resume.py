"""Resuming a stage from its newest complete ``step-<n>/`` checkpoint.

A resumed stage continues bit-identically: weights (UNet and EMA shadows) come
from the safetensors files, optimizer / LR-scheduler / RNG state and the data
position from ``state.pt``, and every random draw of step ``s`` is seeded from
``(seed, s)``. Checkpoints of another stage or seed, beyond the configured
steps, or failing their sha256 check are skipped (newest first).

A checkpoint records the stage's result-changing config and inputs
(:meth:`training.config.StageConfig.result_fields` plus dataset and init URI).
Resuming with any of them changed (learning rate, noise distribution, batch,
resolution, phases, dataset version, ...) raises :class:`ResumeConfigError`
naming the differences, unless the stage sets ``force_resume``. ``steps`` may
change: extending a finished run is a resume.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from safetensors.torch import load_file

from training import checkpoint
from vidforge.logging import get_logger

if TYPE_CHECKING:
    from pathlib import Path

    from diffusers.training_utils import EMAModel

    from training.config import StageConfig
    from vidforge.store import ObjectStore

log = get_logger(__name__)


class ResumeConfigError(ValueError):
    """The newest checkpoint was trained with another result-changing config."""


def config_diff(saved: dict[str, Any], current: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """``key → (checkpoint value, current value)`` for every key whose values differ."""
    keys = sorted(set(saved) | set(current))
    return {k: (saved.get(k), current.get(k)) for k in keys if saved.get(k) != current.get(k)}


def check_config(point_step: int, state: dict[str, Any], current: dict[str, Any], force: bool) -> None:
    """Refuse to resume from ``state`` when its recorded config differs from ``current``.

    Raises:
        ResumeConfigError: a difference and not ``force`` (the message lists each one).
    """
    saved = json.loads(state.get("config") or "{}")
    diff = config_diff(saved, json.loads(json.dumps(current)))
    if not diff:
        return
    text = "; ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in diff.items())
    if force:
        log.warning("resuming with a changed config (force_resume)", step=point_step, changes=text)
        return
    raise ResumeConfigError(
        f"checkpoint step-{point_step} was trained with another config ({text}); use a new run id, "
        "restore the config, or set force_resume=true to continue anyway"
    )


@dataclass(frozen=True)
class ResumePoint:
    """A verified local checkpoint folder to continue from, and its ``state.pt``."""

    step: int
    path: Path
    state: dict[str, Any]


def find_resume_point(
    store: ObjectStore, prefix: str, cfg: StageConfig, tmp: Path, config: dict[str, Any] | None = None
) -> ResumePoint | None:
    """The newest usable complete checkpoint under ``prefix``; None to start from scratch.

    Args:
        config: the result-changing config the checkpoint must match; None =
            ``cfg.result_fields()`` (no dataset or init URI).

    Raises:
        ResumeConfigError: the newest usable checkpoint has another config (see :func:`check_config`).
    """
    if not cfg.resume:
        return None
    for step in reversed(checkpoint.list_steps(store, prefix)):
        if step > cfg.steps:
            log.warning("checkpoint beyond the configured steps ignored", stage=cfg.name, step=step)
            continue
        try:
            path = checkpoint.fetch_step(store, prefix, step, tmp / "resume")
        except checkpoint.CheckpointError as e:
            log.warning("corrupt checkpoint skipped", stage=cfg.name, step=step, error=str(e))
            continue
        state = checkpoint.load_state(path / "state.pt")
        if (state.get("stage"), state.get("seed")) != (cfg.name, cfg.seed):
            log.warning("checkpoint of another stage/seed ignored", stage=cfg.name, step=step)
            continue
        check_config(step, state, cfg.result_fields() if config is None else config, cfg.force_resume)
        return ResumePoint(step=step, path=path, state=state)
    return None


def load_weights(point: ResumePoint, unet: torch.nn.Module) -> None:
    """Load the checkpoint's UNet weights into ``unet`` (strict)."""
    unet.load_state_dict(load_file(point.path / "unet" / checkpoint.WEIGHTS, device="cpu"), strict=True)


def restore_state(
    point: ResumePoint,
    unet: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    ema: EMAModel | None,
) -> None:
    """Restore optimizer, scheduler, EMA shadows (aligned with ``unet.named_parameters()``) and RNG.

    Raises:
        ValueError: the checkpoint and the stage disagree on EMA or the scheduler.
    """
    state = point.state
    optimizer.load_state_dict(state["optimizer"])
    if (scheduler is None) != (state.get("scheduler") is None):
        raise ValueError(f"checkpoint step-{point.step} and the stage config disagree on the LR scheduler")
    if scheduler is not None:
        scheduler.load_state_dict(state["scheduler"])
    if (ema is None) != (state.get("ema_step") is None):
        raise ValueError(f"checkpoint step-{point.step} and the stage config disagree on EMA")
    if ema is not None:
        shadows = load_file(point.path / "ema" / checkpoint.WEIGHTS, device="cpu")
        with torch.no_grad():
            for (name, _), shadow in zip(unet.named_parameters(), ema.shadow_params, strict=True):
                shadow.copy_(shadows[name])
        ema.optimization_step = int(state["ema_step"])
    checkpoint.set_rng_states(state["rng"])
