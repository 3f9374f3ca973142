"""Shot-cut detection: the SVD detector cascade, TransNetV2, or both fused.

A *cut* is the index of the first frame of a new shot (0-based; frame 0 is
never a cut). For a gradual transition (fade, dissolve) the cut is the middle
frame of the transition.

The video is decoded once at 48×27 (:mod:`curation.media.decode`); that one array
feeds every detector. ``mode`` (``configs/curation/default.yaml``, ``cuts``):

* ``cascade``: three frame-statistics detectors at three frame rates
  (:mod:`curation.cuts.cascade`);
* ``learned``: TransNetV2 alone (:mod:`curation.cuts.learned`);
* ``fused``: both; events are merged by :func:`curation.cuts.events.merge_events`
  with the cascade's detectors ranked first (they locate hard cuts to the frame).

Events found by several detectors are one cut: see
:func:`~curation.cuts.events.merge_events` for the rule.

The default mode is ``cascade``: on ``bench/cuts.py`` it is as accurate as
``fused`` (F1 1.0 on bikes.mp4 and the synthetic suite, fades and dissolves
included) at over 100× the speed; TransNetV2 runs at 10-30 frames/s on a CPU core.
``fused`` is the choice for footage whose gradual transitions the cascade misses.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from curation.config import load_config
from curation.cuts.cascade import cascade_events
from curation.cuts.events import Event, merge_cuts, merge_events
from curation.media.decode import decode_lowres

if TYPE_CHECKING:
    import numpy as np

    from curation.config import CutsConfig

__all__ = ["cuts_of_frames", "detect_cuts", "detect_cuts_with", "merge_cuts"]


def cuts_of_frames(frames: np.ndarray, config: CutsConfig) -> list[int]:
    """Cuts of an already decoded video.

    Args:
        frames: ``(N, H, W, 3)`` RGB uint8 at ``config.analysis_size``
            (48×27 when TransNetV2 runs).
        config: the cuts profile.

    Returns:
        Ascending first-frame indices of every new shot, excluding 0.
    """
    events: list[Event] = []
    if config.mode in ("cascade", "fused"):
        events.extend(cascade_events(frames, config))
    if config.mode in ("learned", "fused"):
        from curation.cuts.learned import learned_events

        events.extend(learned_events(frames, config.learned, priority=len(config.detectors)))
    return merge_events(events, config.merge_within)


def detect_cuts_with(path: str | Path, config: CutsConfig) -> list[int]:
    """Cuts of the video at ``path`` under ``config``.

    Returns:
        Ascending first-frame indices of every new shot, excluding 0.

    Raises:
        av.error.FFmpegError: the video cannot be opened or decoded.
        ValueError: the file has no video stream, or ``analysis_size`` is not
            48×27 while TransNetV2 runs.
    """
    if config.mode != "cascade" and tuple(config.analysis_size) != (48, 27):
        raise ValueError(f"TransNetV2 needs analysis_size (48, 27), got {config.analysis_size}")
    video = decode_lowres(path, size=config.analysis_size, threads=config.decode_threads)
    return cuts_of_frames(video.frames, config)


@cache
def _default_config() -> CutsConfig:
    """The default profile's ``cuts`` section, read once per process."""
    return load_config().cuts


def detect_cuts(path: str | Path) -> list[int]:
    """Cuts of the video at ``path`` with the default profile (``configs/curation/default.yaml``).

    Returns:
        Ascending first-frame indices of every new shot (0-based), excluding 0.
    """
    return detect_cuts_with(path, _default_config())
