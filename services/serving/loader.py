"""Load a verified model directory into one pipeline per worker, and warm it up.

Each worker gets its own pipeline object: diffusers pipelines keep per-call
state (the scheduler's timesteps, guidance scale), so two threads must not share
one. Workers on one device share the weights (the modules are read-only under
``torch.inference_mode``) and each get a copy of the scheduler; workers on
different GPUs get their own copy of the weights on their device.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from services.serving.artifacts import ArtifactRejectedError
from services.serving.entities import ModelStamp
from services.serving.generate import GenerationParams, generate_frames
from services.serving.params import ModelDefaults

if TYPE_CHECKING:
    from PIL import Image

    from services.serving.registry_client import AliasTarget

#: Name of the optional defaults file inside a model artefact directory.
DEFAULTS_FILE = "vidforge.json"


@dataclass(frozen=True)
class ModelInfo:
    """Which registry version is loaded, from where, and how long loading and warm-up took (s)."""

    name: str
    version: int
    sha256: str
    artifact_uri: str
    run_id: str
    path: str
    loaded_at: datetime
    load_s: float = 0.0
    warmup_s: float = 0.0


@dataclass(frozen=True)
class LoadedModel:
    """A swapped-in model; immutable, safe to hold across a swap (a running job keeps its weights).

    ``pipelines[i]`` is worker ``i``'s pipeline; ``latent_factor`` is the VAE's
    spatial down-sampling factor (the smallest meaningful image side).
    """

    info: ModelInfo
    pipelines: tuple[Any, ...]
    defaults: ModelDefaults
    latent_factor: int = 8

    @property
    def pipeline(self) -> Any:
        """The first worker's pipeline."""
        return self.pipelines[0]

    @property
    def stamp(self) -> ModelStamp:
        """Name, version and sha256: what every job it runs records."""
        return ModelStamp(self.info.name, self.info.version, self.info.sha256)

    def pipeline_for(self, slot: int) -> Any:
        """Worker ``slot``'s pipeline."""
        return self.pipelines[slot % len(self.pipelines)]


def worker_devices(device: str, workers: int) -> list[str]:
    """The device of each worker: ``workers`` (0: one per visible GPU for ``cuda``, else 1).

    ``cuda`` spreads workers over ``cuda:0..n-1``; an explicit ``cuda:k`` or
    ``cpu`` puts every worker there.
    """
    count = workers
    gpus = 0
    if device == "cuda":
        import torch

        gpus = torch.cuda.device_count()
    if count == 0:
        count = max(1, gpus)
    if device == "cuda" and gpus:
        return [f"cuda:{i % gpus}" for i in range(count)]
    return [device] * count


def read_defaults(path: Path) -> ModelDefaults:
    """Request defaults and ``motion_bucket_edges`` from ``<path>/vidforge.json``; class defaults when absent."""
    f = path / DEFAULTS_FILE
    if not f.is_file():
        return ModelDefaults()
    data = json.loads(f.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{f} must hold a JSON object")
    return ModelDefaults.from_json(data)


def _replicas(path: Path, devices: list[str]) -> tuple[Any, ...]:
    from training.model import load_pipeline

    by_device: dict[str, Any] = {}
    out = []
    for device in devices:
        if device not in by_device:
            pipe = load_pipeline(path, device=device)
            pipe.set_progress_bar_config(disable=True)
            by_device[device] = pipe
            out.append(pipe)
            continue
        shared = by_device[device]
        twin = type(shared)(**{**shared.components, "scheduler": copy.deepcopy(shared.scheduler)})
        twin.set_progress_bar_config(disable=True)
        out.append(twin)
    return tuple(out)


def load_model(target: AliasTarget, path: Path, devices: list[str], loaded_at: datetime) -> LoadedModel:
    """Load ``path`` (verified for ``target``) onto ``devices``.

    Raises:
        ArtifactRejectedError: ``load`` (not a pipeline, or a broken ``vidforge.json``).
    """
    started = time.perf_counter()
    try:
        pipelines = _replicas(path, devices)
        defaults = read_defaults(path)
        meta = json.loads((path / DEFAULTS_FILE).read_text()) if (path / DEFAULTS_FILE).is_file() else {}
    except Exception as e:
        raise ArtifactRejectedError("load", f"cannot load {path}: {e}") from e
    info = ModelInfo(
        name=target.name, version=target.version, sha256=target.sha256, artifact_uri=target.artifact_uri,
        run_id=str(meta.get("run_id", "")), path=str(path), loaded_at=loaded_at,
        load_s=time.perf_counter() - started,
    )
    factor = int(getattr(pipelines[0], "vae_scale_factor", 8) or 8)
    return LoadedModel(info, pipelines, defaults, latent_factor=factor)


def warm_up(model: LoadedModel, image: Image.Image | None = None) -> LoadedModel:
    """Run one tiny generation on every pipeline (2 frames, 1 step, 64 px); return the model with ``warmup_s``.

    Raises:
        ArtifactRejectedError: ``warmup`` (the model loads but cannot generate).
    """
    from PIL import Image

    size = max(64, 8 * model.latent_factor)
    picture = image or Image.new("RGB", (size, size), (127, 127, 127))
    params = GenerationParams(
        height=size, width=size, num_frames=2, num_inference_steps=1, fps=7, motion_bucket_id=127,
        noise_aug_strength=0.02, min_guidance_scale=1.0, max_guidance_scale=3.0, seed=0,
    )
    started = time.perf_counter()
    try:
        for pipe in {id(p): p for p in model.pipelines}.values():
            generate_frames(pipe, picture, params)
    except Exception as e:
        raise ArtifactRejectedError("warmup", f"version {model.info.version} failed its warm-up generation: {e}") from e
    return replace(model, info=replace(model.info, warmup_s=time.perf_counter() - started))
