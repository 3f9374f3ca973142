"""Fréchet distance between two sets of feature vectors (the core of FID and FVD).

Each set is fitted by a Gaussian — mean ``μ`` and covariance ``Σ`` (unbiased,
``N − 1`` denominator, as ``numpy.cov``) — and the distance between the two fits is

    d² = ‖μ_a − μ_b‖² + tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^{1/2})

(Fréchet / 2-Wasserstein distance between Gaussians; Dowson & Landau 1982;
Heusel et al. 2017 for FID, Unterthiner et al. 2018 for FVD). The value returned
is ``d²`` — the quantity the literature calls FID / FVD — in squared feature units.

The trace of the matrix square root is computed stably as the sum of the square
roots of the eigenvalues of ``Σ_a^{1/2} Σ_b Σ_a^{1/2}`` (symmetric positive
semi-definite, so its eigenvalues are real and ≥ 0 up to round-off): round-off
negatives are clipped to 0 and there is no complex residue to discard. This
equals ``tr((Σ_a Σ_b)^{1/2})`` because ``Σ_a Σ_b`` is similar to that matrix.
Rank-deficient covariances (fewer samples than dimensions) are fine.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GaussianStats:
    """Mean ``(D,)``, covariance ``(D, D)`` and sample count of a feature set."""

    mu: np.ndarray
    sigma: np.ndarray
    n: int

    @classmethod
    def of(cls, features: np.ndarray) -> GaussianStats:
        """Fit ``features`` ``(N, D)``, N ≥ 2.

        Raises:
            ValueError: not a 2-D array, fewer than two rows, or non-finite values.
        """
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] < 2:
            raise ValueError(f"features must be (N, D) with N >= 2, got shape {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError("features contain NaN or inf")
        return cls(x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False)), int(x.shape[0]))

    def to_bytes(self) -> bytes:
        """``.npz`` bytes (``mu``, ``sigma``, ``n``) — how an evaluation set stores real-video statistics."""
        buf = io.BytesIO()
        np.savez(buf, mu=self.mu, sigma=self.sigma, n=np.int64(self.n))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> GaussianStats:
        """Inverse of :meth:`to_bytes`."""
        with np.load(io.BytesIO(data)) as z:
            return cls(z["mu"], z["sigma"], int(z["n"]))


def _sqrt_psd(m: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric PSD matrix (eigenvalues clipped at 0)."""
    w, v = np.linalg.eigh((m + m.T) / 2.0)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_from_stats(a: GaussianStats, b: GaussianStats) -> float:
    """``d²`` between two Gaussian fits (see the module docstring).

    Raises:
        ValueError: the two fits have different dimensions.
    """
    if a.mu.shape != b.mu.shape:
        raise ValueError(f"feature dimensions differ: {a.mu.shape} vs {b.mu.shape}")
    root_a = _sqrt_psd(a.sigma)
    inner = root_a @ b.sigma @ root_a
    eig = np.clip(np.linalg.eigvalsh((inner + inner.T) / 2.0), 0.0, None)
    diff = a.mu - b.mu
    d2 = float(diff @ diff + np.trace(a.sigma) + np.trace(b.sigma) - 2.0 * np.sqrt(eig).sum())
    return max(d2, 0.0)


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance ``d²`` between feature sets ``(N_a, D)`` and ``(N_b, D)`` (N ≥ 2 each).

    Raises:
        ValueError: wrong shapes, fewer than two rows, non-finite values, or different ``D``.
    """
    return frechet_from_stats(GaussianStats.of(features_a), GaussianStats.of(features_b))
