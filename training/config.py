"""One typed configuration for all three SVD training stages (``configs/training/*.yaml``).

Stage I (image pretraining), II (video pretraining) and III (high-quality
fine-tuning) differ only in the values of a :class:`StageConfig`, never in code
paths: data kind, resolution, frames, noise distribution, learning rate, EMA,
which UNet layers train and which clips are used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs" / "training"

#: The recipe's stage order; ``training.api.run_all_stages`` chains them.
STAGE_ORDER: tuple[str, ...] = ("stage1_image", "stage2_video", "stage3_finetune")


class StageConfig(BaseModel):
    """What one training stage does. Frozen: copy with ``model_copy(update=...)``."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, protected_namespaces=()
    )

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", description="Run sub-directory of this stage.")
    kind: Literal["image", "video"] = Field(description="Single frames (image) or clips (video).")
    height: int = Field(gt=0, description="Training frame height in px (divisible by the model factor).")
    width: int = Field(gt=0, description="Training frame width in px.")
    num_frames: int = Field(ge=1, description="Frames per sample; 1 for the image stage.")
    target_fps: float = Field(gt=0, description="Frame rate clips are resampled to (conditioned as fps−1).")
    batch_size: int = Field(ge=1, description="Samples per micro-batch per process.")
    lr: float = Field(ge=0, description="AdamW learning rate (constant).")
    weight_decay: float = Field(default=0.0, ge=0)
    steps: int = Field(ge=0, description="Optimizer steps in this stage.")
    p_mean: float = Field(description="Mean of ln σ for training noise.")
    p_std: float = Field(gt=0, description="Std of ln σ for training noise.")
    ema_decay: float | None = Field(default=0.9999, gt=0, lt=1, description="EMA decay (SVD: 0.9999); None = no EMA.")
    cond_dropout: float = Field(default=0.1, ge=0, le=1, description="P(zero each conditioning).")
    noise_aug_mean: float = Field(default=-3.0, description="Mean of ln σ_aug (conditioning frame).")
    noise_aug_std: float = Field(default=0.5, ge=0, description="Std of ln σ_aug.")
    train_spatial: bool = Field(default=True, description="Train the UNet's spatial layers.")
    train_temporal: bool = Field(default=True, description="Train the UNet's temporal layers.")
    select_top_fraction: float = Field(
        default=1.0, gt=0, le=1, description="Keep this fraction of training clips, highest `select_by`."
    )
    select_by: Literal["motion_score", "aesthetic", "clip_similarity"] = "motion_score"
    holdout_fraction: float = Field(default=0.2, ge=0, lt=1, description="Clips held out (by clip_id hash).")
    max_grad_norm: float | None = Field(default=1.0, gt=0, description="Gradient clipping; None = off.")
    seed: int = 0
    num_workers: int = Field(
        default=0, ge=0, description="DataLoader worker processes (0 = decode in the training process)."
    )
    model_config_name: str = Field(
        default="tiny", alias="model_config", description="configs/model/<name>.yaml when not initialised."
    )
    checkpoint_every: int = Field(default=0, ge=0, description="Save step-<n>/ every n steps; 0 = end only.")
    keep_last: int = Field(default=2, ge=1, description="Step checkpoints kept in the store.")
    log_every: int = Field(default=1, ge=1, description="Write a metrics.jsonl row every n steps.")
    resume: bool = Field(default=True, description="Continue from the newest complete step-<n>/ of this run.")
    gradient_accumulation_steps: int = Field(
        default=1, ge=1, description="Micro-batches (of batch_size per process) per optimizer step."
    )
    mixed_precision: Literal["no", "bf16", "fp16"] = Field(
        default="no", description="Autocast precision of the UNet forward (accelerate); weights stay fp32."
    )
    gradient_checkpointing: bool = Field(default=False, description="unet.enable_gradient_checkpointing().")
    optimizer: Literal["adamw", "adamw_fused", "adamw_8bit"] = Field(
        default="adamw", description="AdamW variant; fused / 8-bit fall back to plain AdamW when unavailable."
    )
    lr_warmup_steps: int = Field(default=0, ge=0, description="Linear LR warm-up steps; 0 = constant LR.")

    @model_validator(mode="after")
    def _check(self) -> StageConfig:
        if self.kind == "image" and self.num_frames != 1:
            raise ValueError(f"an image stage samples single frames: num_frames must be 1, not {self.num_frames}")
        if not (self.train_spatial or self.train_temporal):
            raise ValueError("at least one of train_spatial / train_temporal must be true")
        return self

    def to_yaml_dict(self) -> dict[str, Any]:
        """Plain dict with the YAML field names (``model_config`` alias) for round-tripping."""
        return self.model_dump(mode="json", by_alias=True)


def parse_value(text: str) -> Any:
    """A ``--set key=value`` value as YAML (``null`` → None, ``true`` → bool), numbers as numbers.

    YAML 1.1 reads ``3e-5`` (no dot) as a string; such values become floats here.
    """
    value = yaml.safe_load(text)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def profile_path(name_or_path: str | Path, directory: Path, what: str) -> Path:
    """The YAML file ``name_or_path`` names: itself if it ends in ``.yaml``/``.yml``, else ``<directory>/<name>.yaml``.

    Args:
        name_or_path: a profile name (``stage1_image``) or a path to a YAML file.
        directory: where named profiles live.
        what: what the files are, for the error message (``stage config``).

    Raises:
        FileNotFoundError: no such file; the message lists the profiles in ``directory``.
    """
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = directory / f"{name_or_path}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in directory.glob("*.yaml")))
        raise FileNotFoundError(f"no {what} {name_or_path!r} (known: {known})")
    return path


def load_stage_config(name_or_path: str | Path, overrides: dict[str, Any] | None = None) -> StageConfig:
    """Load ``configs/training/<name>.yaml`` (or a YAML path) and apply ``overrides``.

    Args:
        name_or_path: a stage name (``stage1_image``) or a path to a YAML file.
        overrides: field → value, applied on top of the file and validated.

    Raises:
        FileNotFoundError: no such stage file.
        pydantic.ValidationError: a value is out of range or a key is unknown.
    """
    data = yaml.safe_load(profile_path(name_or_path, CONFIG_DIR, "stage config").read_text()) or {}
    data.update(overrides or {})
    return StageConfig.model_validate(data)
