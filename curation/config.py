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
    """One detector of the cut cascade (see :mod:`curation.cuts_cascade`).

    ``stride`` sets the detector's effective frame rate (``fps / stride``): it
    compares frames ``stride`` apart. ``threshold`` is the kind's own score
    threshold: the mean absolute HSV difference (0..255) for ``content``, the
    ratio to the neighbouring scores for ``adaptive``, the histogram distance
    (0..1) for ``histogram``. ``min_content`` is the content score an
    ``adaptive`` peak must also reach; ``min_scene_len`` is in source frames.
    """

    kind: Literal["content", "adaptive", "histogram"] = "content"
    stride: int = Field(1, ge=1)
    threshold: float = Field(27.0, gt=0)
    min_content: float = Field(15.0, ge=0)
    min_scene_len: int = Field(15, ge=1)


class LearnedConfig(_Frozen):
    """TransNetV2 (see :mod:`curation.cuts_learned`). ``threshold`` is on its per-frame probability."""

    threshold: float = Field(0.5, gt=0, lt=1)
    batch_windows: int = Field(4, ge=1)
    threads: int = Field(0, ge=0)


class CutsConfig(_Frozen):
    """Cut detection (see :mod:`curation.cuts`)."""

    mode: Literal["cascade", "learned", "fused"] = "cascade"
    detectors: tuple[DetectorConfig, ...] = (DetectorConfig(),)
    analysis_size: tuple[int, int] = (48, 27)
    decode_threads: int = Field(1, ge=0)
    merge_within: int = Field(2, ge=0)
    flash_frames: int = Field(4, ge=0)
    flash_ratio: float = Field(0.5, ge=0)
    learned: LearnedConfig = LearnedConfig()


class SplitConfig(_Frozen):
    """Cuts → clip spans."""

    min_clip_s: float = Field(1.0, ge=0)


class ClipConfig(_Frozen):
    """Stream-copy clipping: which keyframe a clip starts at."""

    snap: Literal["before", "after"] = "before"
    keyframe_slack: int = Field(2, ge=0)


class FramesConfig(_Frozen):
    """Decode-once frame extraction for the per-clip signals (see :mod:`curation.frames`)."""

    max_side: int = Field(448, ge=16)
    video_frames: int = Field(8, ge=1)
    decode_threads: int = Field(1, ge=0)


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


class ValidationConfig(_Frozen):
    """The manifest's Great Expectations suite (see :mod:`curation.validation`)."""

    #: ``|(end_s - start_s) * fps - (end_frame - start_frame)|`` may be at most this many frames.
    duration_tolerance_frames: float = Field(1.0, ge=0)
    #: Offending rows quoted per failed expectation.
    max_examples: int = Field(5, ge=1)


class CurationConfig(_Frozen):
    """The whole curation profile."""

    cuts: CutsConfig = CutsConfig()
    split: SplitConfig = SplitConfig()
    clip: ClipConfig = ClipConfig()
    frames: FramesConfig = FramesConfig()
    motion: MotionConfig = MotionConfig()
    captions: CaptionsConfig = CaptionsConfig()
    filter: FilterConfig = FilterConfig()
    pipeline: PipelineConfig = PipelineConfig()
    validation: ValidationConfig = ValidationConfig()


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
