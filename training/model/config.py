"""Typed model-size configuration (``configs/model/*.yaml``)."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs" / "model"


class UNetConfig(BaseModel):
    """Sizes of the spatio-temporal UNet (in/out channels are fixed by I2V: 8 → 4)."""

    model_config = ConfigDict(frozen=True)
    block_out_channels: tuple[int, ...] = (320, 640, 1280, 1280)
    down_block_types: tuple[str, ...] = (
        "CrossAttnDownBlockSpatioTemporal",
        "CrossAttnDownBlockSpatioTemporal",
        "CrossAttnDownBlockSpatioTemporal",
        "DownBlockSpatioTemporal",
    )
    up_block_types: tuple[str, ...] = (
        "UpBlockSpatioTemporal",
        "CrossAttnUpBlockSpatioTemporal",
        "CrossAttnUpBlockSpatioTemporal",
        "CrossAttnUpBlockSpatioTemporal",
    )
    layers_per_block: int = 2
    num_attention_heads: tuple[int, ...] = (5, 10, 20, 20)
    cross_attention_dim: int = 1024
    addition_time_embed_dim: int = 256


class VAEConfig(BaseModel):
    """Sizes of the VAE with temporal decoder."""

    model_config = ConfigDict(frozen=True)
    block_out_channels: tuple[int, ...] = (128, 256, 512, 512)
    layers_per_block: int = 2
    latent_channels: int = 4


class ImageEncoderConfig(BaseModel):
    """Sizes of the CLIP vision encoder (its projection feeds UNet cross-attention)."""

    model_config = ConfigDict(frozen=True)
    hidden_size: int = 1280
    intermediate_size: int = 5120
    projection_dim: int = 1024
    num_hidden_layers: int = 32
    num_attention_heads: int = 16
    image_size: int = 224
    patch_size: int = 14


class ModelConfig(BaseModel):
    """The whole model's sizes; the defaults are the public SVD sizes."""

    model_config = ConfigDict(frozen=True)
    unet: UNetConfig = UNetConfig()
    vae: VAEConfig = VAEConfig()
    image_encoder: ImageEncoderConfig = ImageEncoderConfig()


def load_model_config(name_or_path: str | Path) -> ModelConfig:
    """Load ``configs/model/<name>.yaml`` or a YAML file path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = CONFIG_DIR / f"{name_or_path}.yaml"
    return ModelConfig.model_validate(yaml.safe_load(path.read_text()) or {})
