import numpy as np
import pytest

from evaluation.metrics.intervals import bootstrap, mean_of, paired_difference


def test_bootstrap_interval_of_a_mean_covers_the_truth_and_shrinks() -> None:
    rng = np.random.default_rng(0)
    small, large = rng.normal(5.0, 1.0, 20), rng.normal(5.0, 1.0, 400)
    a = bootstrap(mean_of(small), 20, n_boot=500, seed=1)
    b = bootstrap(mean_of(large), 400, n_boot=500, seed=1)
    assert a.low < 5.0 < a.high and b.low < 5.0 < b.high
    assert (b.high - b.low) < (a.high - a.low)
    assert a.value == pytest.approx(small.mean()) and a.n == 20 and a.level == 0.95
    # normal theory: half-width ≈ 1.96 σ/√n
    assert (b.high - b.low) / 2 == pytest.approx(1.96 / np.sqrt(400), rel=0.2)


def test_constant_values_give_a_degenerate_interval() -> None:
    iv = bootstrap(mean_of([2.0, 2.0, 2.0]), 3, n_boot=50)
    assert (iv.value, iv.low, iv.high) == (2.0, 2.0, 2.0)


def test_paired_difference_cancels_shared_sample_variation() -> None:
    rng = np.random.default_rng(2)
    difficulty = rng.normal(0, 10, 30)  # per-sample variation both models share
    a, b = difficulty + 1.0, difficulty + rng.normal(0, 0.1, 30)
    paired = paired_difference(mean_of(a), mean_of(b), 30, n_boot=500, seed=0)
    assert 0.8 < paired.low < paired.value < paired.high < 1.2
    unpaired_width = (bootstrap(mean_of(a), 30, seed=0).high - bootstrap(mean_of(a), 30, seed=0).low)
    assert paired.high - paired.low < 0.1 * unpaired_width
    assert paired.to_dict()["n"] == 30
