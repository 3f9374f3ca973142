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
Quarantine code: ``too_short`` (fewer than two frames decode).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from curation.config import MotionConfig
from curation.items import ClipItem, Item
from curation.stages.base import ItemError, Resources, Stage


def _sample_pairs(num_frames: int, fps: float, sample_fps: float) -> set[int]:
    """First frames of the (i, i+1) pairs sampled at ``sample_fps``."""
    step = max(1.0, fps / sample_fps)
    starts = {round(k * step) for k in range(int(num_frames / step) + 1)}
    return {i for i in starts if i + 1 < num_frames} or ({0} if num_frames >= 2 else set())


def motion_score(path: str | Path, fps: float, config: MotionConfig) -> float:
    """The motion score of the video at ``path`` (see the module docstring for units).

    Raises:
        ItemError: ``too_short`` when fewer than two frames decode.
    """
    import av
    import cv2

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        num_frames = stream.frames or sum(1 for p in container.demux(stream) if p.size)
        container.seek(0)
        pairs = _sample_pairs(num_frames, fps, config.sample_fps)
        wanted = pairs | {i + 1 for i in pairs}
        frames: dict[int, np.ndarray] = {}
        for i, frame in enumerate(container.decode(stream)):
            if i in wanted:
                grey = frame.to_ndarray(format="gray")
                scale = config.short_side / min(grey.shape)
                size = (max(1, round(grey.shape[1] * scale)), max(1, round(grey.shape[0] * scale)))
                frames[i] = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
            if i >= max(wanted, default=-1):
                break
    mags = [
        float(np.linalg.norm(
            cv2.calcOpticalFlowFarneback(frames[i], frames[i + 1], None, 0.5, 3, 9, 3, 5, 1.1, 0), axis=2
        ).mean())
        for i in sorted(pairs) if i in frames and i + 1 in frames
    ]
    if not mags:
        raise ItemError("too_short", f"{path}: fewer than two frames decode")
    return float(np.mean(mags)) * fps


class MotionStage(Stage):
    """Fill ``motion_score`` of each clip from its written file."""

    name: ClassVar[str] = "motion"
    requires: ClassVar[frozenset[str]] = frozenset({"clip_path", "fps"})
    populates: ClassVar[frozenset[str]] = frozenset({"motion_score"})
    resources: ClassVar[Resources] = Resources(cpus=1.0)
    consumes: ClassVar[type[Item]] = ClipItem

    def __init__(self, config: MotionConfig) -> None:
        self.config = config

    def process(self, batch: list[Item]) -> list[Item]:
        """Score every clip."""
        for clip in batch:
            assert isinstance(clip, ClipItem)
            clip.motion_score = motion_score(clip.clip_path, clip.fps, self.config)
        return batch
