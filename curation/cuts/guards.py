"""False-cut guards: changes that look like cuts but are not shot changes.

Each guard reads the analysis array (HSV, see :mod:`curation.cuts.cascade`) around one
candidate event and says whether to drop it:

* :func:`reverts`: the frame before the change comes back within a few frames, after
  aligning for global camera motion: a camera flash, or an object sweeping past the lens
  (it covers the frame, then the shot reappears). A shot change does not revert.
* :func:`is_camera_motion`: the change is a burst of several consecutive large frame
  changes whose sum far exceeds the change from before the burst to after it: a whip pan
  (every frame blurred and moved), not a cut (one large change) nor a fade or dissolve
  (many small changes that add up to the whole transition).
"""

from __future__ import annotations

import cv2
import numpy as np


def aligned_content(a: np.ndarray, b: np.ndarray, max_shift: float = 0.4) -> float:
    """Mean absolute difference of two HSV frames after the best global translation of ``b``.

    The translation is the phase correlation peak of the V channels (and no translation, whichever
    gives the smaller difference); only the overlap is compared, and shifts over ``max_shift`` × the
    frame size are not tried.
    """
    h, w = a.shape[:2]
    va, vb = a[..., 2].astype(np.float32), b[..., 2].astype(np.float32)
    (sx, sy), _ = cv2.phaseCorrelate(va, vb)
    best = float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())
    dx, dy = round(sx), round(sy)
    if (dx or dy) and abs(dx) <= max_shift * w and abs(dy) <= max_shift * h:
        # b's content sits at a's position + (dx, dy): compare a[y, x] with b[y + dy, x + dx].
        ya, yb = slice(max(0, -dy), h - max(0, dy)), slice(max(0, dy), h - max(0, -dy))
        xa, xb = slice(max(0, -dx), w - max(0, dx)), slice(max(0, dx), w - max(0, -dx))
        diff = np.abs(a[ya, xa].astype(np.int16) - b[yb, xb].astype(np.int16))
        best = min(best, float(diff.mean()))
    return best


def reverts(hsv: np.ndarray, start: int, end: int, window: int, ratio: float) -> bool:
    """Whether the change spanning frames ``start..end`` is undone within ``window`` frames.

    Every third frame of the ``window`` frames up to ``start - 1`` is compared, motion-aligned
    (:func:`aligned_content`), with every third frame of the ``window`` frames from ``end + 1`` on;
    the change is undone when a pair differs by less than ``ratio`` × the change itself (frame
    ``start - 1`` to frame ``end``). A flash, or an object passing the lens (checked at its entry
    and at its exit), is undone; a new shot is not.
    """
    n = len(hsv)
    if window <= 0 or n < 3:
        return False
    first, last = max(0, start - 1), min(n - 1, end)
    limit = ratio * float(np.abs(hsv[first].astype(np.int16) - hsv[last].astype(np.int16)).mean())
    befores = range(first, max(-1, first - window - 1), -3)
    afters = range(last + 1, min(n, last + window + 1), 3)
    return any(aligned_content(hsv[b], hsv[a]) < limit for b in befores for a in afters)


def is_camera_motion(hsv: np.ndarray, fine: np.ndarray, frame: int, min_burst: int, efficiency: float,
                     floor: float = 10.0) -> bool:
    """Whether the change at ``frame`` is part of a burst of fast camera motion (a whip pan).

    The burst is the run of consecutive frames around ``frame`` whose full-rate content change
    ``fine`` is at least half the largest one near ``frame`` and at least ``floor``. A burst of
    ``min_burst`` frames or more whose end-to-end change (the frame before it to its last frame) is
    below ``efficiency`` × the sum of its frame changes is camera motion.
    """
    n = len(fine)
    if min_burst <= 0 or n < 2:
        return False
    lo_w, hi_w = max(1, frame - 2), min(n, frame + 3)
    level = max(floor, 0.5 * float(fine[lo_w:hi_w].max()))
    lo = hi = min(max(1, frame), n - 1)
    if fine[lo] < level:
        return False
    while lo > 1 and fine[lo - 1] >= level:
        lo -= 1
    while hi < n - 1 and fine[hi + 1] >= level:
        hi += 1
    if hi - lo + 1 < min_burst:
        return False
    across = float(np.abs(hsv[lo - 1].astype(np.int16) - hsv[hi].astype(np.int16)).mean())
    return across < efficiency * float(fine[lo : hi + 1].sum())
