"""EDM preconditioning, loss weighting and noise-level sampling (σ_data = 1).

The formulas follow the SVD recipe (Karras et al. 2022 with σ_data = 1)::

    c_skip(σ)  = 1 / (σ² + 1)
    c_out(σ)   = −σ / √(σ² + 1)
    c_in(σ)    = 1 / √(σ² + 1)
    c_noise(σ) = 0.25 · ln σ
    λ(σ)       = (1 + σ²) / σ²           (= 1 / c_out²)
    D(x; σ)    = c_skip · x + c_out · F(c_in · x; c_noise)

With the negative ``c_out`` this is the "v-prediction" parameterisation that
diffusers' :class:`~diffusers.EulerDiscreteScheduler` inverts at sampling time
(``prediction_type="v_prediction"``, ``timestep_type="continuous"``), so a
network trained here runs unchanged in ``StableVideoDiffusionPipeline``.

All functions take σ as a tensor of shape ``[B]`` (σ > 0) and return tensors of
the same shape unless stated otherwise; use :func:`append_dims` to broadcast
against latents ``[B, F, C, h, w]``.
"""

from __future__ import annotations

import torch


def c_skip(sigma: torch.Tensor) -> torch.Tensor:
    """Skip scaling 1/(σ²+1), in (0, 1]."""
    return 1.0 / (sigma**2 + 1.0)


def c_out(sigma: torch.Tensor) -> torch.Tensor:
    """Output scaling −σ/√(σ²+1), in (−1, 0)."""
    return -sigma / torch.sqrt(sigma**2 + 1.0)


def c_in(sigma: torch.Tensor) -> torch.Tensor:
    """Input scaling 1/√(σ²+1): makes c_in·(x0 + σn) unit-variance when Var(x0) = 1."""
    return 1.0 / torch.sqrt(sigma**2 + 1.0)


def c_noise(sigma: torch.Tensor) -> torch.Tensor:
    """Noise conditioning 0.25·ln σ: the UNet's (continuous) timestep."""
    return 0.25 * torch.log(sigma)


def loss_weight(sigma: torch.Tensor) -> torch.Tensor:
    """EDM loss weight λ(σ) = (1+σ²)/σ² (σ_data = 1); equals 1/c_out(σ)²."""
    return (1.0 + sigma**2) / sigma**2


def append_dims(t: torch.Tensor, ndim: int) -> torch.Tensor:
    """Append trailing singleton dims so ``t`` ([B]) broadcasts against an ``ndim`` tensor."""
    if t.ndim > ndim:
        raise ValueError(f"tensor has {t.ndim} dims, more than the target {ndim}")
    return t.reshape(*t.shape, *([1] * (ndim - t.ndim)))


def denoise(x: torch.Tensor, sigma: torch.Tensor, model_output: torch.Tensor) -> torch.Tensor:
    """The denoiser D = c_skip·x + c_out·F for noisy ``x`` ([B, ...]) and network output F."""
    return append_dims(c_skip(sigma), x.ndim) * x + append_dims(c_out(sigma), x.ndim) * model_output


def v_target(x0: torch.Tensor, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """The network output F* with D(x; σ) = x0 exactly: (x0 − c_skip·x) / c_out.

    With x = x0 + σ·n this equals (n − σ·x0)/√(σ²+1), the "v" target of the
    negative-c_out convention; the weighted loss λ(σ)·(D − x0)² equals (F − F*)².
    """
    return (x0 - append_dims(c_skip(sigma), x.ndim) * x) / append_dims(c_out(sigma), x.ndim)


def _lognormal(
    n: int, mean: float, std: float, generator: torch.Generator | None, device: torch.device | str
) -> torch.Tensor:
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if std < 0:
        raise ValueError(f"std must be >= 0, got {std}")
    z = torch.randn(n, generator=generator, device=device, dtype=torch.float64)
    return torch.exp(mean + std * z).to(torch.float32)


def sample_sigmas(
    n: int,
    p_mean: float,
    p_std: float,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Training noise levels: ln σ ~ N(P_mean, P_std²).

    Args:
        n: number of samples (batch size), ≥ 1.
        p_mean: mean of ln σ (SVD: −1.2 image/low-res video, 0.7 or 1.0 for I2V fine-tuning).
        p_std: standard deviation of ln σ (SVD: 1.0 or 1.6), ≥ 0.
        generator: seeds the draw; same generator state → same σ.
        device: where the result lives (the generator must live there too).

    Returns:
        float32 tensor ``[n]`` of σ > 0.
    """
    return _lognormal(n, p_mean, p_std, generator, device)


def sample_noise_aug(
    n: int,
    mean: float = -3.0,
    std: float = 0.5,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Conditioning-frame noise augmentation strength: ln σ_aug ~ N(mean, std²).

    SVD's default N(−3.0, 0.5²) gives a median σ_aug ≈ 0.05 in pixel space
    ([−1, 1]). The value is added to the conditioning frame as σ_aug·ε and fed
    to the UNet as the third ``added_time_ids`` entry.

    Returns:
        float32 tensor ``[n]`` of σ_aug > 0.
    """
    return _lognormal(n, mean, std, generator, device)
