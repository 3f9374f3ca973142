"""Assembly: a frozen :class:`~curation.config.CurationConfig` → the ordered stage list.

Kept apart from stage code (cosmos-curate's ``*_builders.py``) so profiles can
add, drop or reorder stages without touching any stage.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from curation.config import CurationConfig
from curation.stages.base import Stage
from curation.stages.captions import CaptionStage
from curation.stages.clip import ClipStage
from curation.stages.clip_scores import ClipScoreStage
from curation.stages.filter import FilterStage
from curation.stages.frames import FramesStage
from curation.stages.motion import MotionStage
from curation.stages.probe import ProbeStage
from curation.stages.split import SplitStage
from curation.stages.text import TextStage
from curation.stages.upload import UploadStage

if TYPE_CHECKING:
    from vidforge.store import ObjectStore


def build_stages(config: CurationConfig, work_dir: str | Path, store: ObjectStore, prefix: str) -> list[Stage]:
    """probe → split → clip → frames → motion → text → captions → [clip_scores] → filter → upload.

    Args:
        work_dir: local scratch directory for written clips.
        store: where kept clips are uploaded, under ``<prefix>/clips/``.
    """
    return [
        ProbeStage(),
        SplitStage(config.split, config.cuts),
        ClipStage(config.clip, Path(work_dir) / "clips", config.split.min_clip_s),
        FramesStage(config.frames, config.motion),
        MotionStage(config.motion, config.frames),
        TextStage(config.text, config.frames, store=store.settings()),
        CaptionStage(config.captions, config.frames, store=store.settings()),
        *clip_score_stages(config, store),
        FilterStage(config.filter),
        UploadStage(store.settings(), prefix),
    ]


def clip_score_stages(config: CurationConfig, store: ObjectStore) -> list[Stage]:
    """The CLIP scoring stage when ``clip_scores.model`` is configured, else nothing (signals skipped).

    ``s3://`` model URIs are read with the run's store settings (endpoint, region).
    """
    if not config.clip_scores.model:
        return []
    return [ClipScoreStage(config.clip_scores, config.frames, store=store.settings())]
