"""Motion faithfulness: does the generated motion follow the requested ``motion_bucket_id``?

SVD conditions on a motion bucket (micro-conditioning); it is only useful when
a higher bucket yields more motion. The same conditioning image is generated at
several buckets (same seed); for each output the *measured motion* is its mean
Farnebäck flow magnitude between consecutive frames (px per frame at the
generated resolution; :func:`evaluation.metrics.temporal.farneback`).

Definition: for each image, Spearman's rank correlation ρ between the buckets
and the measured motions; ``motion_faithfulness`` is the mean ρ over images, in
[−1, 1]. Higher is better; > 0 means the conditioning works. An image whose
outputs all have the same motion (or the same bucket) has no ranking and counts
as ρ = 0.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from evaluation.metrics.temporal import farneback, grey


def mean_flow(video: np.ndarray) -> float:
    """Mean flow magnitude (px/frame) over consecutive pairs of ``video`` ``[T, H, W, 3]`` in [0, 1]; 0 for T < 2."""
    g = [grey(f) for f in video]
    mags = [float(np.linalg.norm(farneback(a, b), axis=2).mean()) for a, b in itertools.pairwise(g)]
    return float(np.mean(mags)) if mags else 0.0


def rank_correlation(buckets: Sequence[float], motions: Sequence[float]) -> float:
    """Spearman's ρ of ``buckets`` vs ``motions`` (0 when either is constant).

    Raises:
        ValueError: the sequences differ in length or have fewer than two entries.
    """
    from scipy.stats import spearmanr

    if len(buckets) != len(motions) or len(buckets) < 2:
        raise ValueError(f"need two equally long sequences of >= 2 values, got {len(buckets)} and {len(motions)}")
    if np.ptp(buckets) == 0 or np.ptp(motions) == 0:
        return 0.0
    return float(spearmanr(buckets, motions).statistic)


def motion_faithfulness(buckets: Sequence[float], motions_per_image: Sequence[Sequence[float]]) -> float:
    """Mean over images of :func:`rank_correlation` (``buckets`` shared by every image)."""
    if not motions_per_image:
        raise ValueError("no images")
    return float(np.mean([rank_correlation(buckets, m) for m in motions_per_image]))
