"""Fréchet Inception Distance on frames (Heusel et al. 2017).

Definition: ``FID = d²(fit(Inception(generated frames)), fit(Inception(real frames)))``
with ``d²`` of :func:`evaluation.metrics.frechet.frechet_from_stats` and
``Inception`` the 2048-d pool features of Inception-v3 (the 2015-12-05 graph of
the reference implementation). Every frame of every video counts as an image.
Lower is better; like FVD it is biased at small sample counts, so the count is recorded.

Input protocol (the reference TorchScript port): frames resized to 299×299
(bilinear), values in [0, 255] (float), layout ``[N, 3, 299, 299]``; the
network is called with the configured ``call_kwargs`` (``{return_features: true}``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from evaluation.metrics.frechet import GaussianStats, frechet_from_stats

if TYPE_CHECKING:
    import torch

    from evaluation.metrics.feature_net import FeatureNet

SIZE = 299


def preprocess_frames(videos: Sequence[np.ndarray]) -> torch.Tensor:
    """All frames of videos ``[T, H, W, 3]`` in [0, 1] → ``[ΣT, 3, 299, 299]`` float32 in [0, 255].

    Raises:
        ValueError: no frames.
    """
    import torch
    from torch.nn.functional import interpolate

    frames = [np.asarray(f, np.float32) for v in videos for f in v]
    if not frames:
        raise ValueError("no frames")
    x = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2)
    x = interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    return x.clamp(0.0, 1.0) * 255.0


def inception_features(net: FeatureNet, videos: Sequence[np.ndarray]) -> np.ndarray:
    """``(ΣT, D)`` Inception features of every frame of ``videos`` (batched), float64."""
    return net.features(preprocess_frames(videos)).numpy().astype(np.float64)


def fid(generated: np.ndarray, real: GaussianStats) -> float:
    """FID of generated-frame features ``(N, D)`` (N ≥ 2) against the real frames' fit."""
    return frechet_from_stats(GaussianStats.of(generated), real)
