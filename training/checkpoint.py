"""Step checkpoints and the final pipeline of a stage, written locally then uploaded.

``step-<n>/`` layout (diffusers model folders, safetensors)::

    unet/config.json, unet/diffusion_pytorch_model.safetensors
    ema/…                  (only when the stage keeps an EMA)
    state.pt               {"step", "optimizer", "rng", "ema_step", "stage", "seed"}

``state.pt`` holds only tensors and plain containers, so it loads with
``torch.load(path, weights_only=True)``; it is uploaded last, so a step folder
with ``state.pt`` is complete. Older step folders beyond ``keep_last`` are
deleted from the store after each upload.

``final/`` is a full pipeline directory (``training.model.save_pipeline``) plus
``vidforge.json``; its sha256 is ``vidforge.digest.sha256_tree(final/)``.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from training.model import save_pipeline
from vidforge.digest import sha256_tree

if TYPE_CHECKING:
    from diffusers import StableVideoDiffusionPipeline, UNetSpatioTemporalConditionModel
    from diffusers.training_utils import EMAModel

    from vidforge.store import ObjectStore

STEP_DIR = re.compile(r"^step-(\d+)$")
#: Keys of ``vidforge.json``, the model artefact's self-description.
VIDFORGE_JSON_KEYS = (
    "height", "width", "num_frames", "fps", "motion_bucket_edges", "stage", "run_id", "dataset_version",
)


def training_state(
    step: int, optimizer: torch.optim.Optimizer, ema: EMAModel | None, stage: str, seed: int
) -> dict[str, Any]:
    """The resumable training state (everything but the weights)."""
    rng: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    return {
        "step": step,
        "optimizer": optimizer.state_dict(),
        "rng": rng,
        "ema_step": ema.optimization_step if ema is not None else None,
        "stage": stage,
        "seed": seed,
    }


def save_step(
    local_dir: Path,
    unet: UNetSpatioTemporalConditionModel,
    ema: EMAModel | None,
    state: dict[str, Any],
) -> Path:
    """Write ``step-<state['step']>/`` under ``local_dir``; return its path."""
    out = local_dir / f"step-{state['step']}"
    if out.exists():
        shutil.rmtree(out)
    unet.save_pretrained(out / "unet", safe_serialization=True)
    if ema is not None:
        ema.save_pretrained(out / "ema")
    torch.save(state, out / "state.pt")
    return out


def upload_step(store: ObjectStore, step_dir: Path, prefix: str, keep_last: int) -> str:
    """Upload a step folder (``state.pt`` last), rotate old ones; return its URI."""
    key = f"{prefix}/{step_dir.name}"
    store.delete_prefix(key)
    for p in sorted(x for x in step_dir.rglob("*") if x.is_file() and x.name != "state.pt"):
        store.put_file(p, f"{key}/{p.relative_to(step_dir).as_posix()}")
    store.put_file(step_dir / "state.pt", f"{key}/state.pt")
    rotate(store, prefix, keep_last)
    return store.uri(key)


def list_steps(store: ObjectStore, prefix: str) -> list[int]:
    """Steps with a complete checkpoint (``state.pt`` present) under ``prefix``, ascending."""
    steps = set()
    for key in store.list(prefix):
        parts = key[len(prefix) + 1 :].split("/")
        m = STEP_DIR.match(parts[0])
        if m and parts[-1] == "state.pt" and len(parts) == 2:
            steps.add(int(m.group(1)))
    return sorted(steps)


def rotate(store: ObjectStore, prefix: str, keep_last: int) -> list[int]:
    """Delete all but the newest ``keep_last`` step folders; return the deleted steps."""
    steps = list_steps(store, prefix)
    doomed = steps[:-keep_last] if keep_last > 0 else steps
    for step in doomed:
        store.delete_prefix(f"{prefix}/step-{step}")
    return doomed


def load_state(path: str | Path) -> dict[str, Any]:
    """Read a ``state.pt`` safely (``weights_only=True``)."""
    return torch.load(path, map_location="cpu", weights_only=True)


def save_final(pipe: StableVideoDiffusionPipeline, local_dir: Path, meta: dict[str, Any]) -> tuple[Path, str]:
    """Write the pipeline + ``vidforge.json`` to ``local_dir/final``; return (path, sha256_tree).

    Raises:
        ValueError: ``meta`` lacks one of :data:`VIDFORGE_JSON_KEYS`.
    """
    missing = [k for k in VIDFORGE_JSON_KEYS if k not in meta]
    if missing:
        raise ValueError(f"vidforge.json lacks {missing}")
    out = local_dir / "final"
    if out.exists():
        shutil.rmtree(out)
    save_pipeline(pipe, out)
    (out / "vidforge.json").write_text(json.dumps(meta, indent=2))
    return out, sha256_tree(out)


def upload_final(store: ObjectStore, final_dir: Path, prefix: str) -> str:
    """Replace ``<prefix>/final/`` in the store with ``final_dir``; return its URI."""
    key = f"{prefix}/final"
    store.delete_prefix(key)
    return store.put_dir(final_dir, key)
