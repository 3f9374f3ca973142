"""Motion: Farnebäck dense optical flow sampled at ``sample_fps`` on tiny frames.

At each sample time ``k / sample_fps`` (seconds from the clip start) the flow
between that frame and the next one is computed on greyscale frames resized so
their short side is ``short_side`` px (default 32). ``motion_score`` is the mean
flow magnitude over pixels and samples, times the clip's fps:

    motion_score = analysis-frame pixels per second (short side = ``short_side`` px)

so it does not depend on the source resolution or frame rate. A camera pan of
``v`` px/frame on a frame with short side ``S`` at ``fps`` scores about
``v * short_side / S * fps``. Adjacent frames (rather than frames 1/sample_fps
apart) are compared because Farnebäck on a 32 px frame saturates beyond ~5 px
of displacement, which would make fast clips score lower than medium ones.
Frames come from the frames stage (decode-once) when it ran. Quarantine code: ``too_short``
(fewer than two frames decode).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from curation.config import FramesConfig, MotionConfig
from curation.items import ClipItem, Item
from curation.media.frames import FLOW, ClipFrames, decode_clip_frames, decode_errors, frames_for
from curation.stages.base import ItemError, Resources, Stage

_WANT = frozenset({FLOW})


def flow_score(frames: ClipFrames, fps: float) -> float:
    """The motion score from already decoded flow pairs.

    Raises:
        ItemError: ``too_short`` when there is no pair (fewer than two frames).
    """
    import cv2

    mags = [
        float(np.linalg.norm(cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 9, 3, 5, 1.1, 0), axis=2).mean())
        for a, b in frames.flow
    ]
    if not mags:
        raise ItemError("too_short", "fewer than two frames decode")
    return float(np.mean(mags)) * fps


def motion_score(path: str | Path, fps: float, config: MotionConfig) -> float:
    """The motion score of the video at ``path`` (see the module docstring for units).

    Raises:
        ItemError: ``too_short`` when fewer than two frames decode.
    """
    with decode_errors():
        frames = decode_clip_frames(path, fps, FramesConfig(), _WANT, motion=config)
    return flow_score(frames, fps)


class MotionStage(Stage):
    """Fill ``motion_score`` of each clip (from ``frames`` when a frames stage ran, else its own decode)."""

    name: ClassVar[str] = "motion"
    requires: ClassVar[frozenset[str]] = frozenset({"clip_path", "fps"})
    populates: ClassVar[frozenset[str]] = frozenset({"motion_score"})
    resources: ClassVar[Resources] = Resources(cpus=1.0)
    consumes: ClassVar[type[Item]] = ClipItem
    uses_frames: ClassVar[bool] = True

    def __init__(self, config: MotionConfig, frames: FramesConfig | None = None) -> None:
        self.config = config
        self.frames = frames or FramesConfig()

    def process(self, batch: list[Item]) -> list[Item]:
        """Score every clip."""
        for clip in batch:
            assert isinstance(clip, ClipItem)
            with decode_errors():
                frames = frames_for(clip, self.frames, _WANT, motion=self.config)
            clip.motion_score = flow_score(frames, clip.fps)
        return batch
