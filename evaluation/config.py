"""Typed evaluation/gate configuration (``configs/evaluation/*.yaml``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs" / "evaluation"


class AbsoluteRule(BaseModel):
    """``metric op threshold`` must hold for the candidate.

    ``on_missing``: what a missing (not computed, or non-finite) metric does — ``fail`` the gate
    (fail closed, the default) or ``skip`` the rule (recorded as skipped, with the reason).
    """

    model_config = ConfigDict(frozen=True)
    metric: str
    op: Literal["<=", ">=", "<", ">"]
    threshold: float
    on_missing: Literal["fail", "skip"] = "fail"


class ChampionRule(BaseModel):
    """The candidate may be at most ``max_regression`` worse than the champion.

    ``compare``: ``point`` compares the two means; with a paired bootstrap interval of
    ``candidate − champion`` (the metric listed in ``metrics.intervals``), ``ci_not_worse`` fails
    only when the whole interval lies beyond the allowed regression (worse beyond doubt), and
    ``ci_non_inferior`` passes only when the whole interval lies within it (non-inferiority shown).
    ``on_missing`` as for :class:`AbsoluteRule` (also when the interval is missing).
    """

    model_config = ConfigDict(frozen=True)
    metric: str
    lower_is_better: bool
    max_regression: float = Field(ge=0)
    relative: bool = True
    compare: Literal["point", "ci_not_worse", "ci_non_inferior"] = "point"
    on_missing: Literal["fail", "skip"] = "fail"


class GateConfig(BaseModel):
    model_config = ConfigDict(frozen=True)
    absolute: tuple[AbsoluteRule, ...] = ()
    versus_champion: tuple[ChampionRule, ...] = ()


class FeatureNetConfig(BaseModel):
    """A frozen network file (see :mod:`evaluation.metrics.feature_net`); ``uri`` empty: not configured."""

    model_config = ConfigDict(frozen=True)
    uri: str = ""
    format: Literal["torchscript", "state_dict"] = "torchscript"
    arch: str = ""
    arch_kwargs: dict[str, Any] = Field(default_factory=dict)
    call_kwargs: dict[str, Any] = Field(default_factory=dict)
    sha256: str = ""
    batch_size: int = Field(default=8, ge=1)


class GenerationConfig(BaseModel):
    model_config = ConfigDict(frozen=True)
    num_inference_steps: int = Field(default=4, ge=1)
    noise_aug_strength: float = 0.02


class MetricsConfig(BaseModel):
    """Feature networks (empty ``uri``: the metric is reported as not computed), motion buckets, intervals.

    ``intervals`` names the metrics that get bootstrap intervals (and paired differences against the
    champion); ``n_boot`` resamples at ``level``.
    """

    model_config = ConfigDict(frozen=True)
    i3d: FeatureNetConfig = FeatureNetConfig(call_kwargs={"rescale": False, "resize": False, "return_features": True})
    inception: FeatureNetConfig = FeatureNetConfig(call_kwargs={"return_features": True})
    lpips: FeatureNetConfig = FeatureNetConfig()
    clip_uri: str = ""
    motion_buckets: tuple[float, ...] = (10.0, 127.0, 255.0)
    motion_images: int = Field(default=2, ge=0)
    intervals: tuple[str, ...] = ()
    n_boot: int = Field(default=500, ge=10)
    level: float = Field(default=0.9, gt=0, lt=1)


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
    #: ``<name>/<version>`` of the evaluation set; "" → ``<dataset>-holdout/<dataset version>`` of the
    #: candidate's dataset, built on first use. ``evalset_sha256`` pins its content.
    evalset: str = ""
    evalset_sha256: str = ""
    sigmas: tuple[float, ...] = (0.05, 0.2, 0.5, 1.0, 2.0, 5.0, 20.0)
    seed: int = 1234
    generation: GenerationConfig = GenerationConfig()
    metrics: MetricsConfig = MetricsConfig()
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
