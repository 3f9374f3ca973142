"""Typed, frozen curation configuration loaded from ``configs/curation/*.yaml``.

The YAML file holds every default (data, not code); :func:`load_config` merges
overrides (a nested dict) on top and validates the result. Unknown keys are
rejected so a typo in a profile fails loudly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from vidforge.settings import deep_merge

#: The default profile, relative to the repository root.
DEFAULT_CONFIG_PATH = Path(__file__).resolve().parents[1] / "configs" / "curation" / "default.yaml"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DetectorConfig(_Frozen):
    """One detector of the cut cascade (see :mod:`curation.cuts.cascade`).

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
    """TransNetV2 (see :mod:`curation.cuts.learned`). ``threshold`` is on its per-frame probability."""

    threshold: float = Field(0.5, gt=0, lt=1)
    batch_windows: int = Field(4, ge=1)
    threads: int = Field(0, ge=0)


class CutsConfig(_Frozen):
    """Cut detection (see :mod:`curation.cuts`)."""

    mode: Literal["cascade", "learned", "fused"] = "cascade"
    detectors: tuple[DetectorConfig, ...] = (DetectorConfig(),)
    analysis_size: tuple[int, int] = (48, 27)
    decode_threads: int = Field(0, ge=0)
    merge_within: int = Field(2, ge=0)
    flash_frames: int = Field(4, ge=0)
    flash_ratio: float = Field(0.5, ge=0)
    revert_frames: int = Field(16, ge=0)
    revert_ratio: float = Field(0.25, ge=0)
    whip_frames: int = Field(3, ge=0)
    whip_efficiency: float = Field(0.5, ge=0)
    learned: LearnedConfig = LearnedConfig()


class SplitConfig(_Frozen):
    """Cuts → clip spans (see :mod:`curation.stages.split`).

    ``min_clip_s``: shorter spans are filtered (``split:too_short``). ``max_clip_s``: a longer shot is
    split into the fewest equal pieces of at most this length (None: shots are kept whole).
    ``min_short_side``: a source whose upright shorter side is below this (px) gives one filtered clip
    (``split:low_resolution``) and no cut detection.
    """

    min_clip_s: float = Field(1.0, ge=0)
    max_clip_s: float | None = Field(10.0, gt=0)
    min_short_side: int = Field(48, ge=1)

    @model_validator(mode="after")
    def _max_above_min(self) -> SplitConfig:
        if self.max_clip_s is not None and self.max_clip_s < 2 * self.min_clip_s:
            raise ValueError(f"split.max_clip_s ({self.max_clip_s}) must be at least twice split.min_clip_s "
                             f"({self.min_clip_s}): a split shot's pieces would be too short to keep")
        return self


class ClipConfig(_Frozen):
    """Clipping (see :mod:`curation.stages.clip`).

    ``mode``: ``copy`` stream-copies each span where it can (no quality loss) and never writes a frame
    outside it: with ``snap: exact`` the clip starts exactly at the span start — a stream copy when a
    keyframe is there (or at most ``keyframe_slack`` frames after it: the clip then starts at that
    keyframe), else a smart cut (``smart_cut``: the head up to the first keyframe re-encoded, the rest
    copied, :mod:`curation.media.smartcut`) or a full re-encode; with ``snap: after`` it starts at the
    first keyframe inside the span (pure stream copy, the head is dropped). ``reencode`` decodes
    exactly the span and encodes it with libx264 at ``crf``/``preset`` (:mod:`curation.media.reencode`).
    ``reencode_unsupported``: in ``copy`` mode, re-encode the clips of a codec an mp4 cannot hold
    (VP8) instead of quarantining them (``clip:unsupported_codec``). ``threads``: decoder and encoder
    threads when re-encoding (0 = FFmpeg's choice).
    """

    mode: Literal["copy", "reencode"] = "copy"
    snap: Literal["exact", "after"] = "exact"
    keyframe_slack: int = Field(2, ge=0)
    smart_cut: bool = True
    reencode_unsupported: bool = True
    crf: int = Field(18, ge=0, le=51)
    preset: Literal[
        "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"
    ] = "veryfast"
    threads: int = Field(1, ge=0)


class FramesConfig(_Frozen):
    """Decode-once frame extraction for the per-clip signals (see :mod:`curation.media.frames`)."""

    max_side: int = Field(448, ge=16)
    video_frames: int = Field(8, ge=1)
    decode_threads: int = Field(1, ge=0)


class MotionConfig(_Frozen):
    """Farnebäck motion scoring."""

    sample_fps: float = Field(2.0, gt=0)
    short_side: int = Field(32, ge=8)


class TextConfig(_Frozen):
    """OCR text area with RapidOCR (see :mod:`curation.stages.text`).

    ``min_score``: a detected box counts when its detection score (mean text probability inside
    it, 0..1) is at least this. ``recognize``: also run the recogniser and count only boxes whose
    text is non-empty with confidence ≥ ``min_rec_score`` (off: detection only).
    ``det_model`` / ``rec_model``: a local path or object-store URI (``file://``, ``s3://``) of an
    ``.onnx`` file; ``""`` = the model shipped inside the ``rapidocr`` package. ``threads``:
    onnxruntime intra-op threads (0 = onnxruntime's default, all cores). ``min_frame_std``: key frames whose
    grey level varies less than this (standard deviation, 0..255: black frames of a fade, flashes) are
    not measured.
    """

    min_score: float = Field(0.5, ge=0, le=1)
    min_frame_std: float = Field(4.0, ge=0)
    recognize: bool = False
    min_rec_score: float = Field(0.5, ge=0, le=1)
    det_model: str = ""
    rec_model: str = ""
    threads: int = Field(1, ge=0)

    @model_validator(mode="after")
    def _rec_model_needs_recognize(self) -> TextConfig:
        if self.rec_model and not self.recognize:
            raise ValueError("text.rec_model is set but text.recognize is false (the model would never run)")
        return self


class CaptionModelConfig(_Frozen):
    """One caption model of the ``transformers`` backend (see :mod:`curation.models.captioners`).

    ``model``: a local checkpoint directory or an object-store URI (``file://``, ``s3://``); ``""``
    gives the role no model. Generation is deterministic (greedy, or beam search when ``num_beams > 1``).
    """

    model: str = ""
    max_new_tokens: int = Field(30, ge=1)
    num_beams: int = Field(1, ge=1)


class SummaryModelConfig(CaptionModelConfig):
    """The summariser: a seq2seq text model given ``prompt`` with ``{image}`` and ``{video}`` filled in."""

    prompt: str = "summarize: image: {image} video: {video}"

    @model_validator(mode="after")
    def _prompt_has_both_captions(self) -> SummaryModelConfig:
        import string

        fields = {name for _, name, _, _ in string.Formatter().parse(self.prompt) if name is not None}
        if fields != {"image", "video"}:
            raise ValueError(f"captions.summary.prompt must use exactly {{image}} and {{video}}, got {sorted(fields)}")
        return self


class CaptionsConfig(_Frozen):
    """Caption backend by name (see :mod:`curation.stages.captions`) and the ``transformers`` backend's models.

    With ``backend: transformers`` a role whose ``model`` is ``""`` takes the sidecar's caption
    (image, video) or :func:`~curation.models.captioners.merge_captions` (summary).
    """

    backend: str = "sidecar"
    image: CaptionModelConfig = CaptionModelConfig()
    video: CaptionModelConfig = CaptionModelConfig()
    summary: SummaryModelConfig = SummaryModelConfig(max_new_tokens=60)
    batch_size: int = Field(8, ge=1)
    device: str = "cpu"
    dtype: Literal["float32", "float16", "bfloat16"] = "float32"
    threads: int = Field(1, ge=0)


class ClipScoresConfig(_Frozen):
    """CLIP aesthetic and caption–frame similarity (see :mod:`curation.stages.clip_scores`).

    ``model``: local path, ``file://`` or ``s3://`` URI of a CLIP directory in the Hugging Face layout;
    ``""`` = not configured: the stage is not built and both signals are skipped. ``aesthetic_head``:
    same for a LAION-style head (:mod:`curation.models.aesthetic`); ``""`` = similarity only
    (``aesthetic`` stays null). ``batch_size``: clips per forward pass (3 frames each). ``threads``:
    torch intra-op threads while scoring (0: torch's default).
    """

    model: str = ""
    aesthetic_head: str = ""
    batch_size: int = Field(16, ge=1)
    device: str = "cpu"
    threads: int = Field(1, ge=0)

    @model_validator(mode="after")
    def _head_needs_model(self) -> ClipScoresConfig:
        if self.aesthetic_head and not self.model:
            raise ValueError("clip_scores.aesthetic_head is set but clip_scores.model is not (the head scores "
                             "CLIP embeddings)")
        return self


class LowCutConfig(_Frozen):
    """Filters removing *low* values of one signal (see :mod:`curation.stages.filter`).

    ``min``: absolute floor (``value < min`` is removed); ``drop_lowest``: the fraction of
    the clips reaching the filter (that have the signal) with the lowest values. ``None``
    (or ``0`` for the fraction) disables that filter.
    """

    min: float | None = None
    drop_lowest: float | None = Field(None, ge=0, lt=1)


class HighCutConfig(_Frozen):
    """Filters removing *high* values of one signal: ``max`` (``value > max``) and ``drop_highest``."""

    max: float | None = None
    drop_highest: float | None = Field(None, ge=0, lt=1)


class FilterConfig(_Frozen):
    """Dataset-wide filters, one rule set per signal (SVD's LVD-F cut-offs by default)."""

    motion: LowCutConfig = LowCutConfig(min=0.5, drop_lowest=0.25)
    aesthetic: LowCutConfig = LowCutConfig(drop_lowest=0.25)
    clip_similarity: LowCutConfig = LowCutConfig(drop_lowest=0.5)
    text_area: HighCutConfig = HighCutConfig(max=0.07, drop_highest=0.25)


class PipelineConfig(_Frozen):
    """Runner and publishing knobs. ``runner``: ``sequential`` (in-process) or ``ray`` (see ``ray:``)."""

    runner: Literal["sequential", "ray"] = "sequential"
    batch_size: int = Field(8, ge=1)
    motion_bucket_edges: int = Field(15, ge=1)
    #: Restore per-source results from the cache and cache new ones (see :mod:`curation.resume`).
    resume: bool = True
    #: Sources per chunk of the per-source stages; each finished chunk is cached.
    chunk_sources: int = Field(32, ge=1)
    #: Object-store prefix of the per-source cache (:mod:`curation.cache`).
    cache_prefix: str = Field("curation-cache", min_length=1)
    #: Filter sources whose bytes an earlier source has (``probe:duplicate``, see :mod:`curation.dedup`).
    dedup_sources: bool = True


class RayConfig(_Frozen):
    """The Ray runner (see :mod:`curation.runner_ray` and ``docs/RAY.md``).

    ``address``: ``""`` starts a private local Ray with ``num_cpus`` CPUs (None: all);
    ``"auto"`` joins the cluster of the node the driver runs on; ``"ray://<head>:10001"``
    connects a Ray Client. ``batch_size``: items per actor call (None: ``pipeline.batch_size``).
    ``shared_dir``: a directory the driver and every Ray node mount at the same path; the
    run's scratch files (fetched sources, written clips) go there ("" = a local temp dir,
    which only works when every actor runs on the driver's node). ``fuse_stages``: run consecutive
    compatible stages in one actor (:func:`curation.fusion.fuse_stages`); False: one actor pool per stage.
    """

    address: str = ""
    num_cpus: int | None = Field(None, ge=1)
    max_actors_per_stage: int = Field(4, ge=1)
    batch_size: int | None = Field(None, ge=1)
    shared_dir: str = ""
    fuse_stages: bool = True


class ValidationConfig(_Frozen):
    """The manifest's Great Expectations suite (see :mod:`curation.validation`)."""

    #: ``|(end_s - start_s) * fps - (end_frame - start_frame)|`` may be at most this many frames.
    duration_tolerance_frames: float = Field(1.0, ge=0)
    #: Offending rows quoted per failed expectation.
    max_examples: int = Field(5, ge=1)
    #: Each captioner (image, video, summary) must give a non-empty caption to at least this fraction of
    #: the kept clips, else the version is not published (0 = no such expectation).
    min_caption_coverage: float = Field(0.0, ge=0, le=1)


class CurationConfig(_Frozen):
    """The whole curation profile."""

    cuts: CutsConfig = CutsConfig()
    split: SplitConfig = SplitConfig()
    clip: ClipConfig = ClipConfig()
    frames: FramesConfig = FramesConfig()
    motion: MotionConfig = MotionConfig()
    text: TextConfig = TextConfig()
    captions: CaptionsConfig = CaptionsConfig()
    clip_scores: ClipScoresConfig = ClipScoresConfig()
    filter: FilterConfig = FilterConfig()
    pipeline: PipelineConfig = PipelineConfig()
    ray: RayConfig = RayConfig()
    validation: ValidationConfig = ValidationConfig()


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
