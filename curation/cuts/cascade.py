"""The SVD cut cascade: several frame-statistics detectors at several frame rates.

Every statistic is computed with numpy over the whole decoded low-resolution
array (see :mod:`curation.media.decode`), never frame by frame in Python. A detector
with ``stride`` s runs at the effective rate ``fps / s``: it compares frames s
apart. It is evaluated at every frame offset, so its events keep a one-frame
resolution. Coarse rates see gradual transitions (a 16-frame fade changes each
frame a little, but frames 8 apart a lot); the full rate locates hard cuts.

Detector kinds (scores for the pair of frames ``i - s`` and ``i``):

* ``content``: mean absolute HSV difference (0..255), as PySceneDetect's
  ContentDetector without edges; fires at ``score >= threshold``.
* ``adaptive``: the content score divided by the mean content score of the
  two neighbouring pairs on each side at the same rate (``i ± s``, ``i ± 2s``),
  as PySceneDetect's AdaptiveDetector; fires at ``ratio >= threshold`` and
  ``score >= min_content``. Robust to steady fast motion.
* ``histogram``: total-variation distance (0..1) between the frames' joint
  hue/saturation/value histograms. Nearly blind to camera motion, so it can
  run at a coarse rate to find fades and dissolves.

A run of consecutive firing offsets is one event. Its frame is the sharpest
full-rate change inside it when the change is abrupt, else the middle of the
run (a gradual transition). Events failing the flash check are dropped, and so are
the hard negatives that :mod:`curation.cuts.guards` recognises (a change undone within
``revert_frames`` once aligned for camera motion: flashes, objects passing the lens; a
burst of motion-blurred frame changes: whip pans).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from curation.cuts.events import Event, enforce_min_scene_len, true_runs
from curation.cuts.guards import is_camera_motion, reverts

if TYPE_CHECKING:
    from curation.config import CutsConfig, DetectorConfig

#: Frames per vectorised chunk (bounds the temporary int16 arrays to ~30 MB at 48×27).
_CHUNK = 4096
#: Histogram bins per HSV channel (joint 8×4×4 = 128 bins).
_BINS = (8, 4, 4)


def to_hsv(frames: np.ndarray) -> np.ndarray:
    """``(N, H, W, 3)`` RGB uint8 → HSV uint8 (OpenCV ranges: H 0..179, S and V 0..255), one cv2 call."""
    n, h, w, _ = frames.shape
    if n == 0:
        return frames.copy()
    return cv2.cvtColor(frames.reshape(n * h, w, 3), cv2.COLOR_RGB2HSV).reshape(n, h, w, 3)


def _mean_absdiff(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-frame mean of ``|x - y|`` over ``(K, H, W, 3)`` uint8 stacks, exact (uint8 max - min, integer sums)."""
    diff = np.maximum(x, y)
    diff -= np.minimum(x, y)
    return (diff.reshape(len(x), -1).sum(axis=1, dtype=np.uint32) / diff[0].size).astype(np.float32)


def pair_content(hsv: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean absolute HSV difference between frames ``a[k]`` and ``b[k]`` for every k (float32)."""
    out = np.empty(len(a), np.float32)
    for lo in range(0, len(a), _CHUNK):
        out[lo : lo + _CHUNK] = _mean_absdiff(hsv[a[lo : lo + _CHUNK]], hsv[b[lo : lo + _CHUNK]])
    return out


def content_scores(hsv: np.ndarray, stride: int) -> np.ndarray:
    """``score[i]`` = content difference of frames ``i - stride`` and ``i`` (0 for ``i < stride``)."""
    n = len(hsv)
    scores = np.zeros(n, np.float32)
    for lo in range(stride, n, _CHUNK):  # contiguous slices: no gather copies
        hi = min(n, lo + _CHUNK)
        scores[lo:hi] = _mean_absdiff(hsv[lo - stride : hi - stride], hsv[lo:hi])
    return scores


#: Per-channel lookup tables: a pixel's joint HSV bin is ``_LUT_H[h] + _LUT_S[s] + _LUT_V[v]`` (0..127).
_LUT_H = ((np.arange(256) * _BINS[0]) // 180 * _BINS[1] * _BINS[2]).astype(np.uint8)
_LUT_S = (((np.arange(256) * _BINS[1]) >> 8) * _BINS[2]).astype(np.uint8)
_LUT_V = ((np.arange(256) * _BINS[2]) >> 8).astype(np.uint8)


def histograms(hsv: np.ndarray) -> np.ndarray:
    """Normalised joint HSV histograms, ``(N, 128)`` float32, by one ``bincount`` over the array."""
    n = len(hsv)
    hb, sb, vb = _BINS
    nbins = hb * sb * vb
    if n == 0:
        return np.zeros((0, nbins), np.float32)
    bins = _LUT_H[hsv[..., 0]]
    bins += _LUT_S[hsv[..., 1]]
    bins += _LUT_V[hsv[..., 2]]
    flat = (bins.reshape(n, -1) + np.arange(0, n * nbins, nbins, dtype=np.int32)[:, None]).ravel()
    counts = np.bincount(flat, minlength=n * nbins).reshape(n, nbins).astype(np.float32)
    return counts / bins[0].size


def histogram_scores(hist: np.ndarray, stride: int) -> np.ndarray:
    """``score[i]`` = total-variation distance (0..1) of the histograms of frames ``i - stride`` and ``i``."""
    scores = np.zeros(len(hist), np.float32)
    if len(hist) > stride:
        scores[stride:] = 0.5 * np.abs(hist[stride:] - hist[:-stride]).sum(axis=1)
    return scores


def adaptive_ratio(scores: np.ndarray, stride: int, window: int = 2) -> np.ndarray:
    """``scores[i]`` over the mean of ``scores[i ± k·stride]``, k = 1..window (missing neighbours skipped)."""
    n = len(scores)
    total = np.zeros(n, np.float64)
    count = np.zeros(n, np.float64)
    for k in range(1, window + 1):
        off = k * stride
        if off >= n:
            break
        total[off:] += scores[:-off]
        count[off:] += 1
        total[:-off] += scores[off:]
        count[:-off] += 1
    mean = np.where(count > 0, total / np.maximum(count, 1), 0.0)
    return (scores / np.maximum(mean, 1e-3)).astype(np.float32)


class CascadeFeatures:
    """Per-video statistics shared by every detector of a cascade (computed lazily, once)."""

    def __init__(self, frames: np.ndarray) -> None:
        self.hsv = to_hsv(frames)
        self._content: dict[int, np.ndarray] = {}
        self._hist: np.ndarray | None = None

    @property
    def num_frames(self) -> int:
        return len(self.hsv)

    def content(self, stride: int) -> np.ndarray:
        if stride not in self._content:
            self._content[stride] = content_scores(self.hsv, stride)
        return self._content[stride]

    def histogram(self, stride: int) -> np.ndarray:
        if self._hist is None:
            self._hist = histograms(self.hsv)
        return histogram_scores(self._hist, stride)


def _fires(feat: CascadeFeatures, det: DetectorConfig) -> np.ndarray:
    """Boolean mask of the offsets at which ``det`` fires."""
    if det.kind == "histogram":
        return feat.histogram(det.stride) >= det.threshold
    scores = feat.content(det.stride)
    if det.kind == "content":
        return scores >= det.threshold
    ratio = adaptive_ratio(scores, det.stride)
    return (ratio >= det.threshold) & (scores >= det.min_content)


def _event(feat: CascadeFeatures, lo: int, hi: int, stride: int, priority: int) -> Event:
    """The event of a firing run ``[lo, hi]`` of a stride-``stride`` detector."""
    start = max(1, lo - stride + 1)  # first frame that can differ from the frame before the run
    fine = feat.content(1)[start : hi + 1]
    coarse = feat.content(stride)[lo : hi + 1]
    peak = int(np.argmax(fine))
    if fine[peak] >= 0.5 * float(coarse.max()):  # one frame carries the change: a hard cut
        return Event(start + peak, start + peak, start + peak, priority)
    return Event((start + hi + 1) // 2, start, hi, priority)


def _persists(feat: CascadeFeatures, ev: Event, frames: int, ratio: float) -> bool:
    """Flash check: frames ``frames`` before and after the event still differ.

    A flash (or any change that reverts within ``frames`` frames) leaves the
    frames around it alike; a shot change does not. The change across the event
    must reach ``ratio`` × the content change at the event itself.
    """
    if frames == 0:
        return True
    n = feat.num_frames
    before, after = max(0, ev.start - 1 - frames), min(n - 1, ev.end + frames)
    across = pair_content(feat.hsv, np.array([before]), np.array([after]))[0]
    at = pair_content(feat.hsv, np.array([max(0, ev.start - 1)]), np.array([min(n - 1, ev.end)]))[0]
    return bool(across >= ratio * at)


def cascade_events(frames: np.ndarray, config: CutsConfig) -> list[Event]:
    """Events of every configured detector (priority = its position in ``config.detectors``).

    Args:
        frames: ``(N, H, W, 3)`` RGB uint8, the decoded low-resolution video.
        config: the cuts profile (detectors, flash check, hard-negative guards).

    Returns:
        Every detector's events after the flash check, the guards and its ``min_scene_len``, unmerged.
    """
    feat = CascadeFeatures(frames)
    verdicts: dict[tuple[int, int, int], bool] = {}  # detectors often find the same change: judge it once

    def is_cut(e: Event) -> bool:
        key = (e.frame, e.start, e.end)
        if key not in verdicts:
            verdicts[key] = (
                _persists(feat, e, config.flash_frames, config.flash_ratio)
                and not is_camera_motion(feat.hsv, feat.content(1), e.frame, config.whip_frames, config.whip_efficiency)
                and not reverts(feat.hsv, e.start, e.end, config.revert_frames, config.revert_ratio)
            )
        return verdicts[key]

    events: list[Event] = []
    for priority, det in enumerate(config.detectors):
        found = [_event(feat, lo, hi, det.stride, priority) for lo, hi in true_runs(_fires(feat, det))]
        events.extend(enforce_min_scene_len([e for e in found if is_cut(e)], det.min_scene_len))
    return events
