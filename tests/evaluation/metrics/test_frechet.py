import numpy as np
import pytest
import scipy.linalg

from evaluation.metrics.frechet import GaussianStats, frechet_distance, frechet_from_stats


def _reference(a: np.ndarray, b: np.ndarray) -> float:
    """The textbook computation (scipy sqrtm of Σ_a Σ_b, real part), independent of the module's."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s_a @ s_b).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a + s_b - 2 * covmean))


def test_matches_independent_scipy_computation() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 8))
    b = rng.normal(size=(150, 8)) @ rng.normal(size=(8, 8)) * 0.5 + 1.0
    assert frechet_distance(a, b) == pytest.approx(_reference(a, b), rel=1e-6)


def test_identical_sets_are_zero_and_shift_adds_squared_norm() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(size=(64, 5))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    shift = np.array([1.0, -2.0, 0.5, 0.0, 3.0])
    assert frechet_distance(a, a + shift) == pytest.approx(float(shift @ shift), rel=1e-9)


def test_closed_form_diagonal_gaussians() -> None:
    """Σ_a = diag(a²), Σ_b = diag(b²): d² = |μ_a − μ_b|² + Σ (a_i − b_i)²."""
    mu_a, mu_b = np.array([0.0, 1.0]), np.array([2.0, 1.0])
    sd_a, sd_b = np.array([1.0, 2.0]), np.array([3.0, 0.5])
    got = frechet_from_stats(GaussianStats(mu_a, np.diag(sd_a**2), 10), GaussianStats(mu_b, np.diag(sd_b**2), 10))
    assert got == pytest.approx(4.0 + 4.0 + 2.25)


def test_scaled_set_closed_form() -> None:
    """b = k·a (same mean 0): d² = (1 − k)² tr Σ_a."""
    rng = np.random.default_rng(2)
    a = rng.normal(size=(100, 4))
    a -= a.mean(0)
    assert frechet_distance(a, 3.0 * a) == pytest.approx(4.0 * np.trace(np.cov(a, rowvar=False)), rel=1e-8)


def test_rank_deficient_covariance_is_finite_and_non_negative() -> None:
    """Fewer samples than dimensions: singular Σ, round-off negative eigenvalues — no NaN, no complex residue."""
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(4, 32)), rng.normal(size=(5, 32))
    got = frechet_distance(a, b)
    assert np.isfinite(got) and got >= 0
    assert got == pytest.approx(_reference(a, b), rel=1e-4)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="N >= 2"):
        frechet_distance(np.zeros((1, 3)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="dimensions differ"):
        frechet_distance(np.ones((3, 3)) * np.arange(3)[:, None], np.ones((3, 2)) * np.arange(3)[:, None])
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(np.full((3, 2), np.nan), np.zeros((3, 2)))


def test_stats_round_trip_bytes() -> None:
    stats = GaussianStats.of(np.random.default_rng(4).normal(size=(10, 3)))
    back = GaussianStats.from_bytes(stats.to_bytes())
    assert back.n == 10 and np.array_equal(back.mu, stats.mu) and np.array_equal(back.sigma, stats.sigma)
