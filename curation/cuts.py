"""Shot-cut detection with PySceneDetect (0.7 API).

A *cut* is the index of the first frame of a new shot (0-based; frame 0 is never
a cut). All configured detectors run in one decoding pass; their cuts are
merged. This is the single-pass foundation the multi-rate cascade builds on.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from curation.config import CutsConfig, DetectorConfig, load_config

if TYPE_CHECKING:
    from scenedetect import SceneDetector


def _make_detector(cfg: DetectorConfig) -> SceneDetector:
    """A PySceneDetect detector for one :class:`DetectorConfig`."""
    import scenedetect as sd

    if cfg.kind == "content":
        return sd.ContentDetector(threshold=cfg.threshold, min_scene_len=cfg.min_scene_len)
    if cfg.kind == "adaptive":
        return sd.AdaptiveDetector(adaptive_threshold=cfg.threshold, min_scene_len=cfg.min_scene_len)
    if cfg.kind == "threshold":
        return sd.ThresholdDetector(threshold=cfg.threshold, min_scene_len=cfg.min_scene_len)
    if cfg.kind == "histogram":
        return sd.HistogramDetector(threshold=cfg.threshold, min_scene_len=cfg.min_scene_len)
    return sd.HashDetector(threshold=cfg.threshold, min_scene_len=cfg.min_scene_len)


def merge_cuts(cuts: list[int], within: int) -> list[int]:
    """Sorted unique cuts, where a cut within ``within`` frames of the previous kept one is dropped."""
    out: list[int] = []
    for cut in sorted(set(cuts)):
        if cut <= 0:
            continue
        if out and cut - out[-1] <= within:
            continue
        out.append(cut)
    return out


def detect_cuts_with(path: str | Path, config: CutsConfig) -> list[int]:
    """Cuts of the video at ``path`` under ``config``.

    Returns:
        Ascending first-frame indices of every new shot, excluding 0.

    Raises:
        scenedetect.VideoOpenFailure: the video cannot be opened.
    """
    from scenedetect import SceneManager, open_video

    video = open_video(str(path), backend=config.backend)
    manager = SceneManager()
    if config.downscale_width:
        manager.auto_downscale = False
        manager.downscale = max(1, video.frame_size[0] // config.downscale_width)
    for det in config.detectors:
        manager.add_detector(_make_detector(det))
    manager.detect_scenes(video)
    starts = [int(start.frame_num) for start, _ in manager.get_scene_list()]
    return merge_cuts(starts, config.merge_within)


def detect_cuts(path: str | Path) -> list[int]:
    """Cuts of the video at ``path`` with the default profile (``configs/curation/default.yaml``).

    Returns:
        Ascending first-frame indices of every new shot (0-based), excluding 0.
    """
    return detect_cuts_with(path, load_config().cuts)
