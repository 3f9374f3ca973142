"""The SVD-architecture image-to-video model package (diffusers components).

``build_pipeline`` makes a randomly initialised model from a :class:`ModelConfig`;
``save_pipeline`` / ``load_pipeline`` write and read the diffusers layout of the
public SVD checkpoints (``unet/``, ``vae/``, ``image_encoder/``,
``feature_extractor/``, ``scheduler/``, ``model_index.json``), safetensors only.
"""

from training.model.build import build_pipeline, edm_scheduler
from training.model.config import ModelConfig, load_model_config
from training.model.io import load_pipeline, save_pipeline

__all__ = [
    "ModelConfig",
    "build_pipeline",
    "edm_scheduler",
    "load_model_config",
    "load_pipeline",
    "save_pipeline",
]
