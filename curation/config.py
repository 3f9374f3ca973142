"""Typed, frozen curation configuration loaded from ``configs/curation/*.yaml``.

The YAML file holds every default (data, not code); :func:`load_config` merges
overrides (a nested dict) on top and validates the result. Unknown keys are
rejected so a typo in a profile fails loudly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

#: The default profile, relative to the repository root.
DEFAULT_CONFIG_PATH = Path(__file__).resolve().parents[1] / "configs" / "curation" / "default.yaml"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DetectorConfig(_Frozen):
    """One PySceneDetect detector. Fields a kind does not use are ignored by it.

    ``threshold`` is the kind's own score threshold (content/histogram/hash/
    threshold detectors); for ``adaptive`` it is the adaptive ratio.
    ``min_scene_len`` is in frames.
    """

    kind: Literal["content", "adaptive", "threshold", "histogram", "hash"] = "content"
    threshold: float = 27.0
    min_scene_len: int = Field(15, ge=1)


class CutsConfig(_Frozen):
    """Cut detection (see :mod:`curation.cuts`)."""

    detectors: tuple[DetectorConfig, ...] = (DetectorConfig(),)
    downscale_width: int = Field(64, ge=0)
    merge_within: int = Field(2, ge=0)
    backend: Literal["pyav", "opencv"] = "opencv"


class SplitConfig(_Frozen):
    """Cuts → clip spans."""

    min_clip_s: float = Field(1.0, ge=0)


class ClipConfig(_Frozen):
    """Stream-copy clipping: which keyframe a clip starts at."""

    snap: Literal["before", "after"] = "before"
    keyframe_slack: int = Field(2, ge=0)


class MotionConfig(_Frozen):
    """Farnebäck motion scoring."""

    sample_fps: float = Field(2.0, gt=0)
    short_side: int = Field(32, ge=8)


class CaptionsConfig(_Frozen):
    """Caption backend by name (see :mod:`curation.stages.captions`)."""

    backend: str = "sidecar"


class FilterConfig(_Frozen):
    """Dataset-wide filters."""

    motion_min: float = Field(0.5, ge=0)
    motion_drop_fraction: float = Field(0.25, ge=0, lt=1)


class PipelineConfig(_Frozen):
    """Runner and publishing knobs."""

    batch_size: int = Field(8, ge=1)
    motion_bucket_edges: int = Field(15, ge=1)


class CurationConfig(_Frozen):
    """The whole curation profile."""

    cuts: CutsConfig = CutsConfig()
    split: SplitConfig = SplitConfig()
    clip: ClipConfig = ClipConfig()
    motion: MotionConfig = MotionConfig()
    captions: CaptionsConfig = CaptionsConfig()
    filter: FilterConfig = FilterConfig()
    pipeline: PipelineConfig = PipelineConfig()


def deep_merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A new dict: ``overrides`` merged into ``base`` recursively (dicts merge, other values replace)."""
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_config(
    path: str | Path | None = None, overrides: dict[str, Any] | None = None
) -> CurationConfig:
    """Load a curation profile (default: ``configs/curation/default.yaml``) plus overrides.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        pydantic.ValidationError: a value is invalid or a key is unknown.
    """
    path = Path(path) if path else DEFAULT_CONFIG_PATH
    if not path.is_file():
        raise FileNotFoundError(f"curation config not found: {path}")
    data = yaml.safe_load(path.read_text()) or {}
    return CurationConfig.model_validate(deep_merge(data, overrides or {}))
