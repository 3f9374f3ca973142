"""Save and load pipelines in the public SVD diffusers layout (safetensors only).

Portability: transformers 5 without torchvision instantiates ``CLIPImageProcessor``
as ``CLIPImageProcessorPil``, a class transformers 4 does not have, and diffusers
records the instance's class in ``model_index.json``. :func:`save_pipeline` names
``CLIPImageProcessor`` there instead, as the public SVD checkpoints do; the
processor's own ``preprocessor_config.json`` already says ``CLIPImageProcessor``
and holds only keys transformers ≥ 4.45 (the project's floor) accepts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from diffusers import StableVideoDiffusionPipeline

#: The image processor class named in saved pipelines (exists in transformers 4 and 5).
PORTABLE_PROCESSOR = "CLIPImageProcessor"

#: Files every saved pipeline has; a directory missing one is not a pipeline.
REQUIRED = (
    "model_index.json",
    "unet/config.json",
    "vae/config.json",
    "image_encoder/config.json",
    "scheduler/scheduler_config.json",
)


def save_pipeline(pipe: StableVideoDiffusionPipeline, directory: str | Path) -> Path:
    """Write ``pipe`` to ``directory`` with safetensors weights; return the path.

    The feature extractor is recorded as the portable ``CLIPImageProcessor``.
    """
    directory = Path(directory)
    pipe.save_pretrained(directory, safe_serialization=True)
    index_path = directory / "model_index.json"
    index = json.loads(index_path.read_text())
    library, name = index.get("feature_extractor", [None, None])
    if library == "transformers" and name and name.startswith("CLIPImageProcessor"):
        index["feature_extractor"] = ["transformers", PORTABLE_PROCESSOR]
        index_path.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
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
