"""Fréchet Video Distance (Unterthiner et al. 2018): Fréchet distance of I3D features of videos.

Definition: ``FVD = d²(fit(I3D(generated)), fit(I3D(real)))`` with ``d²`` of
:func:`evaluation.metrics.frechet.frechet_from_stats` and ``I3D`` the Kinetics-400
network's 400-d logits (before the softmax) of each whole video. Lower is better.
SVD reports 242 on UCF-101 zero-shot (16 frames, 2048 videos); values from a
handful of clips are biased upwards and only comparable at equal sample count,
so the result records it.

Input protocol (as the reference TensorFlow implementation and its TorchScript
port): every frame resized to 224×224 (bilinear), values scaled from [0, 1] to
[−1, 1], layout ``[N, 3, T, 224, 224]``; the network is called with the
configured ``call_kwargs`` (``{rescale: false, resize: false, return_features: true}``
for the public TorchScript archive). All videos of a call must have the same
frame count; the reference protocol uses 16 frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from evaluation.metrics.frechet import GaussianStats, frechet_from_stats

if TYPE_CHECKING:
    import torch

    from evaluation.metrics.feature_net import FeatureNet

SIZE = 224


def preprocess_videos(videos: Sequence[np.ndarray]) -> torch.Tensor:
    """Videos ``[T, H, W, 3]`` in [0, 1] → ``[N, 3, T, 224, 224]`` float32 in [−1, 1].

    Raises:
        ValueError: no videos, or their frame counts differ.
    """
    import torch
    from torch.nn.functional import interpolate

    if not videos:
        raise ValueError("no videos")
    if len({len(v) for v in videos}) != 1:
        raise ValueError(f"videos differ in frame count: {sorted({len(v) for v in videos})}")
    x = torch.from_numpy(np.stack([np.asarray(v, np.float32) for v in videos]))  # N T H W C
    n, t, h, w, c = x.shape
    frames = x.reshape(n * t, h, w, c).permute(0, 3, 1, 2)
    frames = interpolate(frames, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    frames = frames.clamp(0.0, 1.0) * 2.0 - 1.0
    return frames.reshape(n, t, c, SIZE, SIZE).permute(0, 2, 1, 3, 4).contiguous()


def i3d_features(net: FeatureNet, videos: Sequence[np.ndarray]) -> np.ndarray:
    """``(N, D)`` I3D features of ``videos`` (batched by ``net.batch_size``), float64."""
    return net.features(preprocess_videos(videos)).numpy().astype(np.float64)


def fvd(generated: np.ndarray, real: GaussianStats) -> float:
    """FVD of generated-video features ``(N, D)`` (N ≥ 2) against the real set's fit."""
    return frechet_from_stats(GaussianStats.of(generated), real)
