"""Save and load pipelines in the public SVD diffusers layout (safetensors only)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from diffusers import StableVideoDiffusionPipeline

#: Files every saved pipeline has; a directory missing one is not a pipeline.
REQUIRED = (
    "model_index.json",
    "unet/config.json",
    "vae/config.json",
    "image_encoder/config.json",
    "scheduler/scheduler_config.json",
)


def save_pipeline(pipe: StableVideoDiffusionPipeline, directory: str | Path) -> Path:
    """Write ``pipe`` to ``directory`` with safetensors weights; return the path."""
    directory = Path(directory)
    pipe.save_pretrained(directory, safe_serialization=True)
    return directory


def load_pipeline(directory: str | Path, device: str = "cpu") -> StableVideoDiffusionPipeline:
    """Load a pipeline from a local directory in the diffusers SVD layout.

    Never contacts a model hub. Raises:
        FileNotFoundError: ``directory`` lacks one of :data:`REQUIRED`.
    """
    from diffusers import StableVideoDiffusionPipeline

    directory = Path(directory)
    missing = [f for f in REQUIRED if not (directory / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{directory} is not an SVD pipeline: missing {', '.join(missing)}")
    pipe = StableVideoDiffusionPipeline.from_pretrained(
        directory, local_files_only=True, use_safetensors=True
    )
    return pipe.to(device)
