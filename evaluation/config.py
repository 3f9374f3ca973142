"""Typed evaluation/gate configuration (``configs/evaluation/*.yaml``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs" / "evaluation"


class AbsoluteRule(BaseModel):
    """``metric op threshold`` must hold for the candidate."""

    model_config = ConfigDict(frozen=True)
    metric: str
    op: Literal["<=", ">=", "<", ">"]
    threshold: float


class ChampionRule(BaseModel):
    """The candidate may be at most ``max_regression`` worse than the champion."""

    model_config = ConfigDict(frozen=True)
    metric: str
    lower_is_better: bool
    max_regression: float = Field(ge=0)
    relative: bool = True


class GateConfig(BaseModel):
    model_config = ConfigDict(frozen=True)
    absolute: tuple[AbsoluteRule, ...] = ()
    versus_champion: tuple[ChampionRule, ...] = ()


class GenerationConfig(BaseModel):
    model_config = ConfigDict(frozen=True)
    num_inference_steps: int = Field(default=4, ge=1)
    noise_aug_strength: float = 0.02


class PromotionConfig(BaseModel):
    """Which aliases the pipeline moves, and whether it waits for a person's approval before promoting.

    ``approval_timeout_s`` bounds the wait (the DAG's approval step then fails).
    """

    model_config = ConfigDict(frozen=True)
    alias: str = "production"
    candidate_alias: str = "candidate"
    require_approval: bool = True
    approval_poke_s: float = Field(default=30.0, gt=0)
    approval_timeout_s: float = Field(default=7 * 24 * 3600.0, gt=0)


class EvalConfig(BaseModel):
    """Everything evaluation and promotion need."""

    model_config = ConfigDict(frozen=True)
    final_stage: str = "stage3_finetune"
    stages: tuple[str, ...] = ("stage1_image", "stage2_video", "stage3_finetune")
    max_clips: int = Field(default=4, ge=1)
    sigmas: tuple[float, ...] = (0.05, 0.2, 0.5, 1.0, 2.0, 5.0, 20.0)
    seed: int = 1234
    generation: GenerationConfig = GenerationConfig()
    gate: GateConfig = GateConfig()
    promotion: PromotionConfig = PromotionConfig()


def load_eval_config(name_or_path: str | Path = "default", overrides: dict[str, Any] | None = None) -> EvalConfig:
    """Load ``configs/evaluation/<name>.yaml`` (or a path), shallow-merged with ``overrides``."""
    path = Path(name_or_path)
    if not path.suffix:
        path = CONFIG_DIR / f"{name_or_path}.yaml"
    data = yaml.safe_load(path.read_text()) or {}
    data.update(overrides or {})
    return EvalConfig.model_validate(data)
