"""Temporal consistency of a generated video: flow-warp error and temporal PSNR.

Videos are ``[T, H, W, 3]`` float arrays in [0, 1].

* ``flow_warp_error`` (Lai et al. 2018, "Learning Blind Video Temporal
  Consistency"): for each pair (t, t+1), the backward optical flow ``b`` from
  frame t+1 to frame t (Farnebäck, the method and parameters curation's motion
  stage uses, on greyscale frames) warps frame t onto frame t+1:
  ``ŵ(x) = I_t(x + b(x))``. A pixel counts only when it is not occluded — the
  forward–backward check of Sundaram et al. 2010,
  ``|b(x) + f(x + b(x))|² ≤ 0.01 (|b(x)|² + |f(x + b(x))|²) + 0.5`` with ``f``
  the forward flow — and its source lies inside the frame. The error of the pair
  is the mean over those pixels of the squared difference ``(ŵ − I_{t+1})²``
  (averaged over channels); the video's error is the mean over pairs. Units:
  squared intensity in [0, 1]; 0 for a static or perfectly flow-explained video.
  Lower is better (flicker and incoherent changes raise it).
* ``temporal_psnr`` — mean PSNR (dB) between consecutive frames; compared with
  the reference clip's value as ``temporal_gap_db`` (0 = as smooth as real video).
"""

from __future__ import annotations

import numpy as np

from evaluation.metrics.fidelity import PSNR_CAP, psnr

#: cv2.calcOpticalFlowFarneback(pyr_scale, levels, winsize, iterations, poly_n, poly_sigma, flags),
#: as curation's motion stage.
FARNEBACK = (0.5, 3, 9, 3, 5, 1.1, 0)


def grey(frame: np.ndarray) -> np.ndarray:
    """``[H, W, 3]`` in [0, 1] → ``[H, W]`` uint8 luma (what Farnebäck reads)."""
    import cv2

    rgb = (np.clip(frame, 0.0, 1.0) * 255.0).round().astype(np.uint8)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def farneback(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dense flow ``[H, W, 2]`` (x, y in px) from greyscale ``a`` to ``b``: ``a(x) ≈ b(x + flow(x))``."""
    import cv2

    return cv2.calcOpticalFlowFarneback(a, b, None, *FARNEBACK)


def _sample(img: np.ndarray, grid_x: np.ndarray, grid_y: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.remap(img.astype(np.float32), grid_x, grid_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def pair_warp_error(prev: np.ndarray, nxt: np.ndarray) -> tuple[float, float]:
    """``(error, valid fraction)`` of warping ``prev`` onto ``nxt`` (frames ``[H, W, 3]`` in [0, 1])."""
    g0, g1 = grey(prev), grey(nxt)
    back = farneback(g1, g0)  # nxt(x) ≈ prev(x + back(x))
    fwd = farneback(g0, g1)
    h, w = g0.shape
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    src_x, src_y = xs + back[..., 0], ys + back[..., 1]
    warped = _sample(prev, src_x, src_y)
    fwd_at = _sample(fwd, src_x, src_y)
    loop = back + fwd_at
    consistent = (loop**2).sum(-1) <= 0.01 * ((back**2).sum(-1) + (fwd_at**2).sum(-1)) + 0.5
    inside = (src_x >= 0) & (src_x <= w - 1) & (src_y >= 0) & (src_y <= h - 1)
    mask = consistent & inside
    if not mask.any():
        return float("nan"), 0.0
    err = ((warped - nxt.astype(np.float32)) ** 2).mean(-1)
    return float(err[mask].mean()), float(mask.mean())


def flow_warp_error(video: np.ndarray) -> float:
    """Mean flow-warp error over consecutive pairs of ``video`` (see the module docstring); 0 for one frame.

    Pairs where every pixel is occluded are left out; NaN when that is every pair.
    """
    errors = [pair_warp_error(video[i], video[i + 1])[0] for i in range(len(video) - 1)]
    finite = [e for e in errors if np.isfinite(e)]
    if not errors:
        return 0.0
    return float(np.mean(finite)) if finite else float("nan")


def temporal_psnr(video: np.ndarray) -> float:
    """Mean PSNR (dB) between consecutive frames of ``video``; :data:`PSNR_CAP` for one frame."""
    if len(video) < 2:
        return PSNR_CAP
    return float(np.mean([psnr(video[i], video[i + 1]) for i in range(len(video) - 1)]))
