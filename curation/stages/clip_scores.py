"""CLIP scores: ``aesthetic`` and ``clip_similarity`` from the first, middle and last frame.

Built only when ``clip_scores.model`` is configured (see :mod:`curation.builders`);
without it both signals stay null and the data card lists them as skipped.
``aesthetic`` is the mean LAION-style head score of the three frames (null when
no ``clip_scores.aesthetic_head`` is configured); ``clip_similarity`` is the mean
cosine similarity between the three frame embeddings and the embedding of the
clip's caption — :func:`scoring_caption`: the summary, else the video caption,
else the image caption; null when the clip has none. See
:mod:`curation.models.clip_scorer`. :func:`skip_reasons` says why a signal stays null
under a configuration (for the data card). Quarantine code: ``too_short`` (no frame decodes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from curation.config import ClipScoresConfig, FramesConfig
from curation.items import ClipItem, Item
from curation.media.frames import KEY, decode_errors, frames_for
from curation.stages.base import Resources, Stage

if TYPE_CHECKING:
    from curation.models.clip_scorer import ClipScorer
    from vidforge.settings import StoreSettings

_WANT = frozenset({KEY})


def scoring_caption(clip: ClipItem) -> str:
    """The caption ``clip_similarity`` compares with: summary, else video, else image caption ("" if none)."""
    return clip.caption_summary or clip.caption_video or clip.caption_image


class ClipScoreStage(Stage):
    """Fill ``aesthetic`` and ``clip_similarity`` of each clip with a CLIP model loaded once per worker.

    Args:
        config: model/head locations, batch size, device and threads.
        frames: frame decoding settings (used when no frames stage ran).
        store: object-store settings for ``s3://`` model URIs (default: the platform settings).
    """

    name: ClassVar[str] = "clip_scores"
    requires: ClassVar[frozenset[str]] = frozenset(
        {"clip_path", "fps", "caption_image", "caption_video", "caption_summary"})
    populates: ClassVar[frozenset[str]] = frozenset({"aesthetic", "clip_similarity"})
    resources: ClassVar[Resources] = Resources(cpus=1.0)
    consumes: ClassVar[type[Item]] = ClipItem
    uses_frames: ClassVar[bool] = True

    def __init__(self, config: ClipScoresConfig, frames: FramesConfig | None = None, *,
                 store: StoreSettings | None = None) -> None:
        if not config.model:
            raise ValueError("clip_scores.model is not configured")
        self.config = config
        self.frames = frames or FramesConfig()
        self.store = store
        self.scorer: ClipScorer | None = None

    def setup(self) -> None:
        """Load the CLIP model (and head) from ``clip_scores.model`` / ``aesthetic_head``."""
        from curation.models.clip_scorer import load_clip_scorer

        if self.store is None:
            from vidforge.settings import get_settings

            self.store = get_settings().store
        self.scorer = load_clip_scorer(self.config.model, self.config.aesthetic_head, self.config.device, self.store)

    def process(self, batch: list[Item]) -> list[Item]:
        """Score every clip: decode (or reuse) key frames, then ``clip_scores.batch_size`` clips per forward."""
        import torch

        assert self.scorer is not None, "setup() was not called"
        clips = [c for c in batch if isinstance(c, ClipItem)]
        frames = []
        for clip in clips:
            with decode_errors():
                frames.append(frames_for(clip, self.frames, _WANT).key_frames())
        threads = torch.get_num_threads()
        if self.config.threads:
            torch.set_num_threads(self.config.threads)
        try:
            size = self.config.batch_size
            for i in range(0, len(clips), size):
                chunk = clips[i : i + size]
                scores = self.scorer.score(frames[i : i + size], [scoring_caption(c) for c in chunk])
                for clip, s in zip(chunk, scores, strict=True):
                    clip.aesthetic, clip.clip_similarity = s.aesthetic, s.similarity
        finally:
            torch.set_num_threads(threads)
        return batch


def skip_reasons(config: Mapping[str, Any]) -> dict[str, str]:
    """Why this stage leaves a signal null under a run's configuration: ``{signal: reason}``.

    Args:
        config: the run's curation config as recorded in ``DatasetInfo.config`` (a JSON dump of
            :class:`~curation.config.CurationConfig`; a config without ``clip_scores`` counts as unconfigured).
    """
    section = config.get("clip_scores") or {}
    if not section.get("model"):
        reason = "no CLIP model configured (clip_scores.model)"
        return {"aesthetic": reason, "clip_similarity": reason}
    if not section.get("aesthetic_head"):
        return {"aesthetic": "no aesthetic head configured (clip_scores.aesthetic_head)"}
    return {}
