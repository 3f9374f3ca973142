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

#: Stage-config fields that do not change what a stage computes (logging, checkpoint
#: cadence, worker count, the resume switches, the step budget: a run may be extended).
#: Every other field is checked on resume (:mod:`training.resume`).
NOT_RESULT_CHANGING = frozenset(
    {"checkpoint_every", "keep_last", "log_every", "num_workers", "resume", "force_resume", "steps",
     "cache_bytes"}
)

#: Stage fields a :class:`Phase` may override.
PHASE_FIELDS = ("height", "width", "p_mean", "p_std", "lr")


class Phase(BaseModel):
    """A span of a stage's steps with its own resolution, noise distribution and learning rate.

    Unset fields inherit the stage's value. ``steps`` is required for every phase but
    the last, which runs until the stage's ``steps`` (SVD stage II: 150k steps at
    256×384 with P_mean −1.2, then 320×576 with P_mean 0; stage III (0.7, 1.6) then
    (1.0, 1.6)). Each phase ends with a checkpoint.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    steps: int | None = Field(default=None, ge=1, description="Optimizer steps; None only for the last phase.")
    height: int | None = Field(default=None, gt=0)
    width: int | None = Field(default=None, gt=0)
    p_mean: float | None = None
    p_std: float | None = Field(default=None, gt=0)
    lr: float | None = Field(default=None, ge=0)

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
    cond_dropout: float = Field(default=0.1, ge=0, le=1, description="P(drop the conditioning) per sample.")
    cond_dropout_joint: bool = Field(
        default=True,
        description="Drop CLIP embedding and concat latent together (the CFG unconditional input); "
        "False drops each independently with cond_dropout.",
    )
    concat_latent: bool = Field(
        default=True,
        description="Concatenate the conditioning frame's latent to the UNet input. Must be false "
        "for image stages: with one frame per sample it is the target itself.",
    )
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
    force_resume: bool = Field(
        default=False, description="Resume even when the checkpoint was trained with another config."
    )
    cache_bytes: int = Field(
        default=256 * 2**20, ge=0, description="Bytes of decoded clips each data worker keeps (LRU)."
    )
    phases: tuple[Phase, ...] = Field(default=(), description="Consecutive phases; empty = one phase.")

    @model_validator(mode="after")
    def _check(self) -> StageConfig:
        if self.kind == "image" and self.num_frames != 1:
            raise ValueError(f"an image stage samples single frames: num_frames must be 1, not {self.num_frames}")
        if not (self.train_spatial or self.train_temporal):
            raise ValueError("at least one of train_spatial / train_temporal must be true")
        if self.kind == "image" and self.concat_latent:
            raise ValueError("an image stage must set concat_latent: false (its conditioning frame is its target)")
        if any(p.steps is None for p in self.phases[:-1]):
            raise ValueError("every phase but the last needs steps")
        if len({p.name for p in self.phases}) != len(self.phases):
            raise ValueError("phase names must be unique")
        return self

    def phase_index(self, step: int) -> int:
        """Index of the phase optimizer step ``step`` (1-based) belongs to; 0 without phases."""
        end = 0
        for i, phase in enumerate(self.phases):
            if phase.steps is None:
                return i
            end += phase.steps
            if step <= end:
                return i
        return max(0, len(self.phases) - 1)

    def phase_end(self, index: int) -> int:
        """The last step of phase ``index`` (capped at ``steps``)."""
        if not self.phases or index == len(self.phases) - 1:
            return self.steps
        return min(self.steps, sum(p.steps or 0 for p in self.phases[: index + 1]))

    def at_step(self, step: int) -> StageConfig:
        """This config with the overrides of the phase of ``step`` applied (and no phases)."""
        if not self.phases:
            return self
        phase = self.phases[self.phase_index(step)]
        update = {k: getattr(phase, k) for k in PHASE_FIELDS if getattr(phase, k) is not None}
        return self.model_copy(update={**update, "phases": ()})

    def final(self) -> StageConfig:
        """The config of the stage's last step (resolution of the saved model)."""
        return self.at_step(max(1, self.steps))

    def result_fields(self) -> dict[str, Any]:
        """The fields that change results (see :data:`NOT_RESULT_CHANGING`), as YAML values."""
        return {k: v for k, v in self.to_yaml_dict().items() if k not in NOT_RESULT_CHANGING}

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
