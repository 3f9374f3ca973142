"""Reference fidelity of a generated video against a real one: PSNR, SSIM (torchmetrics) and LPIPS.

Videos are ``[T, H, W, 3]`` float arrays in [0, 1], compared frame by frame with
the reference of the same shape.

* ``psnr`` — ``10·log10(1 / MSE)`` dB over every pixel and channel of the pair
  (torchmetrics ``peak_signal_noise_ratio``, data range 1); identical inputs are
  capped at :data:`PSNR_CAP` dB so means stay finite. Higher is better.
* ``ssim`` — mean structural similarity over frames (torchmetrics
  ``structural_similarity_index_measure``: Gaussian window 11, σ 1.5,
  K1 0.01, K2 0.03, data range 1), in [−1, 1]. Higher is better.
* ``lpips`` — mean over frames of the learned perceptual distance (Zhang et al.
  2018) from a configured network called as ``net(a, b)`` on ``[N, 3, H, W]``
  in [−1, 1] (the LPIPS convention), returning one distance per pair. Lower is better.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

    from evaluation.metrics.feature_net import FeatureNet

PSNR_CAP = 100.0


def _nchw(video: np.ndarray) -> torch.Tensor:
    import torch

    x = torch.from_numpy(np.ascontiguousarray(video, dtype=np.float32))
    return (x.unsqueeze(0) if x.ndim == 3 else x).permute(0, 3, 1, 2)


def _check(a: np.ndarray, b: np.ndarray) -> None:
    if np.shape(a) != np.shape(b):
        raise ValueError(f"shapes differ: {np.shape(a)} vs {np.shape(b)}")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR (dB) of two same-shape arrays ``[..., H, W, 3]`` in [0, 1], capped at :data:`PSNR_CAP`.

    Raises:
        ValueError: the shapes differ.
    """
    from torchmetrics.functional.image import peak_signal_noise_ratio

    _check(a, b)
    value = float(peak_signal_noise_ratio(_nchw(a), _nchw(b), data_range=1.0))
    return min(value, PSNR_CAP)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM over frames of two same-shape videos ``[T, H, W, 3]`` (or images) in [0, 1].

    Raises:
        ValueError: the shapes differ.
    """
    from torchmetrics.functional.image import structural_similarity_index_measure

    _check(a, b)
    return float(structural_similarity_index_measure(_nchw(a), _nchw(b), data_range=1.0))


def lpips(net: FeatureNet, a: np.ndarray, b: np.ndarray) -> float:
    """Mean LPIPS distance over frames of two same-shape videos ``[T, H, W, 3]`` in [0, 1].

    Raises:
        ValueError: the shapes differ.
    """
    _check(a, b)
    x, y = _nchw(a) * 2.0 - 1.0, _nchw(b) * 2.0 - 1.0
    distances = [net(x[i : i + net.batch_size], y[i : i + net.batch_size]).reshape(-1)
                 for i in range(0, len(x), net.batch_size)]
    return float(np.mean(np.concatenate([d.numpy() for d in distances])))
