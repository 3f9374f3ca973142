"""Step checkpoints and the final pipeline of a stage, written locally then uploaded.

``step-<n>/`` layout (diffusers model folders, safetensors)::

    unet/config.json, unet/diffusion_pytorch_model.safetensors
    ema/…                  (only when the stage keeps an EMA)
    state.pt               {"step", "optimizer", "scheduler", "rng", "data_position", "ema_step",
                            "stage", "seed", "first_loss", "config"}
    complete.json          {"step", "files": {relative path: sha256}}   (written last)

``state.pt`` holds only tensors and plain containers, so it loads with
``torch.load(path, weights_only=True)``. A step folder is *complete* when its
``complete.json`` marker exists: on a local store the folder is assembled under
a temporary name and renamed into place (marker included); on an object store
the marker is uploaded after every other file. Folders without the marker are
ignored by :func:`list_steps` and :func:`latest_complete`; older complete ones
beyond ``keep_last`` are deleted after each upload.

``final/`` is a full pipeline directory (``training.model.save_pipeline``) plus
``vidforge.json``; its sha256 is ``vidforge.digest.sha256_tree(final/)``.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from training.model import save_pipeline
from vidforge.digest import sha256_file, sha256_tree

if TYPE_CHECKING:
    from diffusers import StableVideoDiffusionPipeline, UNetSpatioTemporalConditionModel
    from diffusers.training_utils import EMAModel

    from vidforge.store import ObjectStore

STEP_DIR = re.compile(r"^step-(\d+)$")
#: The completed-marker of a step folder, written last.
MARKER = "complete.json"
WEIGHTS = "diffusion_pytorch_model.safetensors"
#: Keys of ``vidforge.json``, the model artefact's self-description.
VIDFORGE_JSON_KEYS = (
    "height", "width", "num_frames", "fps", "motion_bucket_edges", "stage", "run_id", "dataset_version",
)


class CheckpointError(RuntimeError):
    """A complete-marked checkpoint whose files do not match their recorded sha256."""


def rng_states() -> dict[str, Any]:
    """RNG states of torch (CPU and CUDA), numpy and python, as tensors and plain containers."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    rng: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"name": np_state[0], "keys": torch.from_numpy(np_state[1].astype(np.int64)),
                  "pos": int(np_state[2]), "has_gauss": int(np_state[3]), "gauss": float(np_state[4])},
        "python": {"version": py_state[0], "state": list(py_state[1]), "gauss": py_state[2]},
    }
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    return rng


def set_rng_states(rng: dict[str, Any]) -> None:
    """Restore states saved by :func:`rng_states` (missing entries are left alone)."""
    torch.set_rng_state(rng["torch"])
    if "numpy" in rng:
        n = rng["numpy"]
        keys = n["keys"].numpy().astype(np.uint32)
        np.random.set_state((n["name"], keys, n["pos"], n["has_gauss"], n["gauss"]))
    if "python" in rng:
        p = rng["python"]
        random.setstate((p["version"], tuple(p["state"]), p["gauss"]))
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])


def training_state(
    step: int,
    optimizer: torch.optim.Optimizer,
    ema: EMAModel | None,
    stage: str,
    seed: int,
    *,
    scheduler: Any = None,
    data_position: int = 0,
    first_loss: float | None = None,
    config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The resumable training state (everything but the weights).

    Args:
        data_position: items of the global sample stream consumed so far (all ranks).
        first_loss: the stage's first-step loss (reported in ``result.json`` after a resume).
        config: the result-changing stage config and inputs (JSON values), checked on resume.
    """
    return {
        "step": step,
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "rng": rng_states(),
        "data_position": data_position,
        "ema_step": ema.optimization_step if ema is not None else None,
        "stage": stage,
        "seed": seed,
        "first_loss": first_loss,
        "config": json.dumps(config or {}, sort_keys=True),
    }


def save_step(
    local_dir: Path,
    unet: UNetSpatioTemporalConditionModel,
    ema: EMAModel | None,
    state: dict[str, Any],
) -> Path:
    """Write ``step-<state['step']>/`` (weights, state, marker) under ``local_dir``; return its path."""
    out = local_dir / f"step-{state['step']}"
    if out.exists():
        shutil.rmtree(out)
    unet.save_pretrained(out / "unet", safe_serialization=True)
    if ema is not None:
        ema.save_pretrained(out / "ema")
    torch.save(state, out / "state.pt")
    write_marker(out, state["step"])
    return out


def write_marker(step_dir: Path, step: int) -> dict[str, Any]:
    """Write ``complete.json`` with the sha256 of every other file in ``step_dir``."""
    files = {
        p.relative_to(step_dir).as_posix(): sha256_file(p)
        for p in sorted(step_dir.rglob("*"))
        if p.is_file() and p.name != MARKER
    }
    marker = {"step": step, "files": files}
    (step_dir / MARKER).write_text(json.dumps(marker, indent=2))
    return marker


def verify(step_dir: Path) -> dict[str, Any]:
    """Check every file of a local step folder against its marker; return the marker.

    Raises:
        CheckpointError: no marker, a file missing, or a sha256 mismatch.
    """
    marker_path = step_dir / MARKER
    if not marker_path.is_file():
        raise CheckpointError(f"{step_dir} has no {MARKER}")
    marker = json.loads(marker_path.read_text())
    for rel, digest in marker["files"].items():
        p = step_dir / rel
        if not p.is_file() or sha256_file(p) != digest:
            raise CheckpointError(f"{p} is missing or does not match its sha256 in {marker_path}")
    return marker


def upload_step(store: ObjectStore, step_dir: Path, prefix: str, keep_last: int) -> str:
    """Publish a step folder atomically, rotate old ones; return its URI.

    A local store gets the folder under a temporary name, renamed into place; an
    object store gets every file, then the marker.
    """
    key = f"{prefix}/{step_dir.name}"
    target = store.local_path(key)
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        shutil.copytree(step_dir, tmp)
        _fsync_tree(tmp)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    else:
        store.delete_prefix(key)
        for p in sorted(x for x in step_dir.rglob("*") if x.is_file() and x.name != MARKER):
            store.put_file(p, f"{key}/{p.relative_to(step_dir).as_posix()}")
        store.put_file(step_dir / MARKER, f"{key}/{MARKER}")
    rotate(store, prefix, keep_last)
    return store.uri(key)


def _fsync_tree(root: Path) -> None:
    for p in root.rglob("*"):
        if p.is_file():
            with p.open("rb") as f:
                os.fsync(f.fileno())


def list_steps(store: ObjectStore, prefix: str) -> list[int]:
    """Steps with a complete checkpoint (marker present) under ``prefix``, ascending."""
    steps = set()
    for key in store.list(prefix):
        parts = key[len(prefix) + 1 :].split("/")
        m = STEP_DIR.match(parts[0])
        if m and parts[-1] == MARKER and len(parts) == 2:
            steps.add(int(m.group(1)))
    return sorted(steps)


def latest_complete(store: ObjectStore, prefix: str) -> int | None:
    """The newest complete step under ``prefix``; None when there is none."""
    steps = list_steps(store, prefix)
    return steps[-1] if steps else None


def fetch_step(store: ObjectStore, prefix: str, step: int, dest: Path) -> Path:
    """A verified local copy of ``step-<step>/`` (the store's own folder when it is local).

    Raises:
        CheckpointError: the files do not match the marker.
    """
    key = f"{prefix}/step-{step}"
    local = store.local_path(key)
    if local is None or not local.is_dir():
        local = store.get_dir(key, dest / f"step-{step}")
    verify(local)
    return local


def rotate(store: ObjectStore, prefix: str, keep_last: int) -> list[int]:
    """Delete all but the newest ``keep_last`` complete step folders; return the deleted steps."""
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
