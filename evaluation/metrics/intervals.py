"""Bootstrap confidence intervals over evaluation samples, and paired differences.

A metric over ``n`` samples is a statistic ``s(indices)`` of the samples it is
given (the mean of per-sample values, or a Fréchet distance of the samples'
features). Its percentile-bootstrap interval at level ``1 − α`` resamples the
``n`` sample indices with replacement ``n_boot`` times (seeded) and takes the
``α/2`` and ``1 − α/2`` quantiles of ``s``. A *paired* difference between two
models scored on the same samples resamples the same indices for both, so the
sample-to-sample variation they share cancels: the interval of
``s_a(idx) − s_b(idx)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

Statistic = Callable[[np.ndarray], float]


@dataclass(frozen=True)
class Interval:
    """A point estimate and its ``level`` bootstrap interval ``[low, high]`` over ``n`` samples."""

    value: float
    low: float
    high: float
    level: float
    n: int

    def to_dict(self) -> dict[str, float]:
        return {"value": self.value, "low": self.low, "high": self.high, "level": self.level, "n": self.n}


def _indices(n: int, n_boot: int, seed: int) -> np.ndarray:
    if n < 1:
        raise ValueError("no samples")
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def _interval(point: float, boots: np.ndarray, level: float, n: int) -> Interval:
    boots = boots[np.isfinite(boots)]
    if boots.size == 0:
        return Interval(point, float("nan"), float("nan"), level, n)
    alpha = 1.0 - level
    low, high = np.quantile(boots, [alpha / 2.0, 1.0 - alpha / 2.0])
    return Interval(point, float(low), float(high), level, n)


def bootstrap(stat: Statistic, n: int, *, n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> Interval:
    """Percentile-bootstrap interval of ``stat`` over ``n`` samples (``stat`` gets an index array)."""
    idx = _indices(n, n_boot, seed)
    boots = np.array([stat(i) for i in idx], dtype=np.float64)
    return _interval(float(stat(np.arange(n))), boots, level, n)


def paired_difference(stat_a: Statistic, stat_b: Statistic, n: int, *, n_boot: int = 1000, level: float = 0.95,
                      seed: int = 0) -> Interval:
    """Interval of ``stat_a − stat_b`` with the same resampled indices for both (paired samples)."""
    idx = _indices(n, n_boot, seed)
    boots = np.array([stat_a(i) - stat_b(i) for i in idx], dtype=np.float64)
    everything = np.arange(n)
    return _interval(float(stat_a(everything) - stat_b(everything)), boots, level, n)


def mean_of(values: Sequence[float]) -> Statistic:
    """The statistic "mean of the selected per-sample ``values``"."""
    arr = np.asarray(values, dtype=np.float64)
    return lambda idx: float(arr[idx].mean())
