"""EDM preconditioning numerics (σ_data = 1) and σ sampling."""

from __future__ import annotations

import math

import pytest
import torch

from training import edm
from training.model import edm_scheduler


def test_coefficients_at_sigma_one() -> None:
    s = torch.tensor([1.0])
    assert edm.c_skip(s).item() == pytest.approx(0.5)
    assert edm.c_out(s).item() == pytest.approx(-1 / math.sqrt(2))
    assert edm.c_in(s).item() == pytest.approx(1 / math.sqrt(2))
    assert edm.c_noise(s).item() == pytest.approx(0.0)
    assert edm.loss_weight(s).item() == pytest.approx(2.0)


@pytest.mark.parametrize("sigma", [0.002, 0.05, 0.3, 1.0, 4.0, 80.0, 700.0])
def test_coefficients_match_formulas(sigma: float) -> None:
    s = torch.tensor([sigma], dtype=torch.float64)
    assert edm.c_skip(s).item() == pytest.approx(1 / (sigma**2 + 1))
    assert edm.c_out(s).item() == pytest.approx(-sigma / math.sqrt(sigma**2 + 1))
    assert edm.c_in(s).item() == pytest.approx(1 / math.sqrt(sigma**2 + 1))
    assert edm.c_noise(s).item() == pytest.approx(0.25 * math.log(sigma))
    assert edm.loss_weight(s).item() == pytest.approx((1 + sigma**2) / sigma**2)
    # λ(σ) is exactly the inverse squared output scale: the weighted loss is unit-scale in F.
    assert edm.loss_weight(s).item() == pytest.approx(1 / edm.c_out(s).item() ** 2)


def test_exact_v_target_denoises_to_x0() -> None:
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(3, 2, 4, 5, 5, generator=g, dtype=torch.float64)
    n = torch.randn(x0.shape, generator=g, dtype=torch.float64)
    sigma = torch.tensor([0.01, 1.0, 50.0], dtype=torch.float64)
    x = x0 + edm.append_dims(sigma, 5) * n
    target = edm.v_target(x0, x, sigma)
    torch.testing.assert_close(edm.denoise(x, sigma, target), x0)
    s = edm.append_dims(sigma, 5)
    torch.testing.assert_close(target, (n - s * x0) / torch.sqrt(s**2 + 1))


def test_weighted_loss_equals_v_space_mse() -> None:
    g = torch.Generator().manual_seed(1)
    x0, n, out = (torch.randn(4, 1, 4, 3, 3, generator=g, dtype=torch.float64) for _ in range(3))
    sigma = torch.tensor([0.1, 0.5, 2.0, 9.0], dtype=torch.float64)
    x = x0 + edm.append_dims(sigma, 5) * n
    weighted = edm.loss_weight(sigma) * ((edm.denoise(x, sigma, out) - x0) ** 2).flatten(1).mean(1)
    v_space = ((out - edm.v_target(x0, x, sigma)) ** 2).flatten(1).mean(1)
    torch.testing.assert_close(weighted, v_space)


def test_scheduler_inverts_the_same_preconditioning() -> None:
    """The sampler SVD ships with uses c_in, c_noise and D exactly as training does."""
    sched = edm_scheduler()
    sched.set_timesteps(5)
    g = torch.Generator().manual_seed(2)
    x = torch.randn(1, 2, 4, 3, 3, generator=g)
    out = torch.randn(x.shape, generator=g)
    t, sigma = sched.timesteps[1], sched.sigmas[1].reshape(1)
    assert t.item() == pytest.approx(edm.c_noise(sigma).item(), rel=1e-5)
    scaled = sched.scale_model_input(x, t)
    torch.testing.assert_close(scaled, edm.append_dims(edm.c_in(sigma), 5) * x)
    pred_x0 = sched.step(out, t, x).pred_original_sample
    torch.testing.assert_close(pred_x0, edm.denoise(x, sigma, out), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(("p_mean", "p_std"), [(-1.2, 1.0), (0.7, 1.6), (1.0, 1.6)])
def test_sampled_log_sigma_matches_normal(p_mean: float, p_std: float) -> None:
    sigma = edm.sample_sigmas(20000, p_mean, p_std, torch.Generator().manual_seed(0))
    assert sigma.shape == (20000,) and sigma.dtype == torch.float32 and bool((sigma > 0).all())
    ln = torch.log(sigma.double())
    # standard errors: mean ≈ p_std/141, std ≈ p_std/200 → 5σ bounds
    assert ln.mean().item() == pytest.approx(p_mean, abs=5 * p_std / 141)
    assert ln.std().item() == pytest.approx(p_std, abs=5 * p_std / 200)


def test_sampling_is_seeded() -> None:
    a = edm.sample_sigmas(8, -1.2, 1.0, torch.Generator().manual_seed(3))
    b = edm.sample_sigmas(8, -1.2, 1.0, torch.Generator().manual_seed(3))
    c = edm.sample_sigmas(8, -1.2, 1.0, torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_noise_aug_defaults_to_svd_distribution() -> None:
    aug = edm.sample_noise_aug(20000, generator=torch.Generator().manual_seed(0))
    ln = torch.log(aug.double())
    assert ln.mean().item() == pytest.approx(-3.0, abs=0.02)
    assert ln.std().item() == pytest.approx(0.5, abs=0.02)


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="n must be"):
        edm.sample_sigmas(0, 0.0, 1.0)
    with pytest.raises(ValueError, match="std"):
        edm.sample_noise_aug(2, std=-1.0)
    with pytest.raises(ValueError, match="dims"):
        edm.append_dims(torch.zeros(2, 2, 2), 2)
