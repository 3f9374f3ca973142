"""Frames: decode each clip once for every signal stage after it (see :mod:`curation.media.frames`).

Populates the transient ``frames`` field; the last stage that reads frames
releases them. Quarantine code: ``too_short`` (no frame decodes).
"""

from __future__ import annotations

from typing import ClassVar

from curation.config import FramesConfig, MotionConfig
from curation.items import ClipItem, Item
from curation.media.frames import ALL, decode_clip_frames, decode_errors
from curation.stages.base import Resources, Stage


class FramesStage(Stage):
    """Fill ``frames`` with one decode of each clip."""

    name: ClassVar[str] = "frames"
    requires: ClassVar[frozenset[str]] = frozenset({"clip_path", "fps"})
    populates: ClassVar[frozenset[str]] = frozenset({"frames"})
    resources: ClassVar[Resources] = Resources(cpus=1.0)
    consumes: ClassVar[type[Item]] = ClipItem

    def __init__(self, frames: FramesConfig, motion: MotionConfig, want: frozenset[str] = ALL) -> None:
        self.config = frames
        self.motion = motion
        self.want = want

    def process(self, batch: list[Item]) -> list[Item]:
        """Decode every clip of the batch once."""
        for clip in batch:
            assert isinstance(clip, ClipItem)
            with decode_errors():
                clip.frames = decode_clip_frames(clip.clip_path, clip.fps, self.config, self.want,
                                                 motion=self.motion)
        return batch
