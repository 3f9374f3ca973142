"""The SVD image-to-video denoising objective (EDM, σ_data = 1).

:func:`denoising_loss` conditions the UNet exactly as diffusers'
``StableVideoDiffusionPipeline`` does at inference, so a trained UNet drops
into that pipeline unchanged:

1. CLIP image embedding of the first frame (antialiased resize to the encoder's
   input size, CLIP normalisation) → ``encoder_hidden_states`` ``[B, 1, D]``;
2. the first frame plus σ_aug·ε, VAE-encoded (``latent_dist.mode()``, *not*
   scaled — the pipeline does not scale it either), repeated on every frame and
   concatenated channel-wise to the noisy latents (UNet in-channels 4 + 4);
3. ``added_time_ids`` = [fps − 1, motion_bucket, σ_aug];
4. conditioning dropout: by default the image embedding and the concat latent
   are zeroed *together* with probability ``cond_dropout`` — exactly the input of
   the unconditional branch of classifier-free guidance at sampling (zero
   embedding and zero image latent). ``joint_dropout=False`` zeroes each
   independently (both together then only with probability ``cond_dropout²``).

``concat_latent=False`` zeroes the concatenated latent always: an image stage
(one frame per sample) would otherwise see its own target in its input (SVD's
stage I is the image model without image concatenation).

The target latents are ``vae.encode(frames).latent_dist.mode() × scaling_factor``.
The frozen encoders (VAE, CLIP) run outside any autocast region, in their own
dtype (fp32 by default), so targets and conditioning stay fp32 when the UNet
trains under bf16 autocast.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from training import edm

if TYPE_CHECKING:
    from diffusers import AutoencoderKLTemporalDecoder, UNetSpatioTemporalConditionModel
    from transformers import CLIPVisionModelWithProjection


@dataclass
class Components:
    """The parts of an SVD pipeline the objective needs (a pipeline works as well)."""

    unet: UNetSpatioTemporalConditionModel
    vae: AutoencoderKLTemporalDecoder
    image_encoder: CLIPVisionModelWithProjection
    feature_extractor: Any


def _resize_antialiased(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    # The pipeline's own resize (Gaussian blur + bicubic): using it keeps the CLIP input
    # of training and inference identical. It is private in diffusers, hence the local import.
    from diffusers.pipelines.stable_video_diffusion.pipeline_stable_video_diffusion import (
        _resize_with_antialiasing,
    )

    return _resize_with_antialiasing(images, size)


def clip_pixels(images: torch.Tensor, feature_extractor: Any, size: int) -> torch.Tensor:
    """First frames ``[B, 3, H, W]`` in [−1, 1] → CLIP input ``[B, 3, size, size]``.

    Mirrors ``StableVideoDiffusionPipeline._encode_image`` for PIL inputs: resize in
    [−1, 1] with antialiasing, back to [0, 1], normalise with the extractor's mean/std.
    """
    x = _resize_antialiased(images, (size, size))
    x = (x + 1.0) / 2.0
    mean = torch.tensor(feature_extractor.image_mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(feature_extractor.image_std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


def _keep_mask(b: int, p: float, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """[B] float mask: 0 with probability ``p`` (dropped), else 1."""
    if p <= 0.0:
        return torch.ones(b, device=device)
    draw = torch.rand(b, generator=generator, device=device)
    return (draw >= p).float()


def dropout_masks(
    b: int, p: float, joint: bool, generator: torch.Generator | None, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Keep masks ``[B]`` (1 keep, 0 drop) of the image embedding and of the concat latent.

    ``joint``: one draw drops both (probability ``p``); else two independent draws.
    """
    keep_embed = _keep_mask(b, p, generator, device)
    return keep_embed, keep_embed.clone() if joint else _keep_mask(b, p, generator, device)


def _no_autocast(device: torch.device) -> Any:
    """A context that disables autocast on ``device`` (frozen encoders run in their own dtype)."""
    return torch.autocast(device_type=device.type, enabled=False)


def _as_tensor(value: torch.Tensor | float | list[float], b: int, device: torch.device) -> torch.Tensor:
    t = torch.as_tensor(value, dtype=torch.float32, device=device)
    if t.ndim == 0:
        t = t.expand(b)
    if t.shape != (b,):
        raise ValueError(f"expected a scalar or shape [{b}], got {tuple(t.shape)}")
    return t


@torch.no_grad()
def encode_conditioning(
    parts: Components | Any,
    first: torch.Tensor,
    noise_aug: torch.Tensor,
    generator: torch.Generator | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """CLIP embedding ``[B, 1, D]`` and noise-augmented VAE latent ``[B, 4, h, w]`` of ``first``.

    Args:
        first: conditioning frames ``[B, 3, H, W]`` in [−1, 1].
        noise_aug: σ_aug ``[B]``; the VAE sees ``first + σ_aug·ε``.
    """
    encoder = parts.image_encoder
    size = int(encoder.config.image_size)
    with _no_autocast(first.device):
        pixels = clip_pixels(first, parts.feature_extractor, size).to(encoder.dtype)
        embeds = encoder(pixels).image_embeds.unsqueeze(1)
        eps = torch.randn(first.shape, generator=generator, device=first.device, dtype=first.dtype)
        augmented = first + edm.append_dims(noise_aug, first.ndim) * eps
        cond_latent = parts.vae.encode(augmented.to(parts.vae.dtype)).latent_dist.mode()
    return embeds, cond_latent


@torch.no_grad()
def encode_frames(vae: AutoencoderKLTemporalDecoder, frames: torch.Tensor) -> torch.Tensor:
    """Frames ``[B, F, 3, H, W]`` in [−1, 1] → scaled latents ``[B, F, 4, H/s, W/s]``.

    Uses the posterior mode (deterministic); ``s`` is the VAE's downsampling factor.
    Runs outside autocast, in the VAE's dtype.
    """
    b, f = frames.shape[:2]
    with _no_autocast(frames.device):
        latents = vae.encode(frames.flatten(0, 1).to(vae.dtype)).latent_dist.mode()
    latents = latents * vae.config.scaling_factor
    return latents.unflatten(0, (b, f))


def check_inputs(frames: torch.Tensor, sigma: torch.Tensor, cond_dropout: float) -> None:
    """Fail early, naming the bad value (see :func:`denoising_loss`)."""
    if frames.ndim != 5 or frames.shape[2] != 3:
        raise ValueError(f"frames must be [B, F, 3, H, W], got {tuple(frames.shape)}")
    b = frames.shape[0]
    if sigma.shape != (b,) or bool((sigma <= 0).any()):
        raise ValueError(f"sigma must be positive with shape [{b}], got {tuple(sigma.shape)}")
    if not 0.0 <= cond_dropout <= 1.0:
        raise ValueError(f"cond_dropout must be in [0, 1], got {cond_dropout}")


def denoising_loss(
    pipe_or_components: Components | Any,
    frames: torch.Tensor,
    fps: torch.Tensor | float,
    motion_bucket: torch.Tensor | float,
    sigma: torch.Tensor,
    *,
    generator: torch.Generator | None,
    noise_aug_strength: torch.Tensor | float | None = None,
    cond_dropout: float = 0.0,
    noise_aug_mean: float = -3.0,
    noise_aug_std: float = 0.5,
    joint_dropout: bool = True,
    concat_latent: bool = True,
) -> torch.Tensor:
    """Per-sample EDM-weighted denoising loss λ(σ)·mean((D − x0)²) of an SVD I2V model.

    A pure function of its inputs and ``generator`` (noise, σ_aug when not given,
    dropout draws, in that order); gradients flow into the UNet only (the VAE and
    image encoder run under ``no_grad``). Held-out evaluation calls it with fixed
    σ, fixed ``noise_aug_strength`` and ``cond_dropout=0``.

    Args:
        pipe_or_components: a ``StableVideoDiffusionPipeline`` or :class:`Components`.
        frames: float ``[B, F, 3, H, W]`` in [−1, 1]; frame 0 is the conditioning image;
            H and W divisible by the VAE factor (× UNet factor).
        fps: frame rate of the sampled frames, scalar or ``[B]``; conditioned as ``fps − 1``.
        motion_bucket: ``motion_bucket_id`` in 0..255, scalar or ``[B]``.
        sigma: noise levels ``[B]``, σ > 0 (e.g. :func:`training.edm.sample_sigmas`).
        generator: seeds every random draw.
        noise_aug_strength: σ_aug (scalar or ``[B]``); None samples ln σ_aug ~
            N(noise_aug_mean, noise_aug_std²).
        cond_dropout: probability in [0, 1] of dropping the conditioning of a sample.
        joint_dropout: drop embedding and concat latent together (default) or independently.
        concat_latent: False zeroes the concat latent of every sample (image stages).

    Returns:
        float32 tensor ``[B]``: the loss of each sample.

    Raises:
        ValueError: ``frames`` is not 5-D, σ has the wrong shape or is not positive,
            ``cond_dropout`` outside [0, 1].
    """
    check_inputs(frames, sigma, cond_dropout)
    b, device = frames.shape[0], frames.device
    sigma = sigma.to(device=device, dtype=torch.float32)
    latents = encode_frames(pipe_or_components.vae, frames).float()
    noise = torch.randn(latents.shape, generator=generator, device=device)
    if noise_aug_strength is None:
        aug = edm.sample_noise_aug(b, noise_aug_mean, noise_aug_std, generator, device)
    else:
        aug = _as_tensor(noise_aug_strength, b, device)
    embeds, cond_latent = _dropped_conditioning(
        pipe_or_components, frames, aug, cond_dropout, generator, joint=joint_dropout, concat=concat_latent
    )
    time_ids = torch.stack(
        [_as_tensor(fps, b, device) - 1.0, _as_tensor(motion_bucket, b, device), aug], dim=1
    )
    x = latents + edm.append_dims(sigma, latents.ndim) * noise
    out = _unet_forward(pipe_or_components.unet, x, sigma, cond_latent, embeds, time_ids)
    denoised = edm.denoise(x, sigma, out)
    return edm.loss_weight(sigma) * ((denoised - latents) ** 2).flatten(1).mean(dim=1)


def _dropped_conditioning(
    parts: Components | Any,
    frames: torch.Tensor,
    aug: torch.Tensor,
    cond_dropout: float,
    generator: torch.Generator | None,
    *,
    joint: bool = True,
    concat: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Image embedding ``[B, 1, D]`` and concat latent ``[B, F, 4, h, w]`` after dropout."""
    b, f = frames.shape[:2]
    embeds, cond_latent = encode_conditioning(parts, frames[:, 0], aug, generator)
    keep_embed, keep_latent = dropout_masks(b, cond_dropout, joint, generator, frames.device)
    embeds = embeds * edm.append_dims(keep_embed, 3)
    if not concat:
        keep_latent = torch.zeros_like(keep_latent)
    cond_latent = cond_latent * edm.append_dims(keep_latent, 4)
    return embeds, cond_latent.unsqueeze(1).repeat(1, f, 1, 1, 1)


def _unet_forward(
    unet: UNetSpatioTemporalConditionModel,
    x: torch.Tensor,
    sigma: torch.Tensor,
    cond_latent: torch.Tensor,
    embeds: torch.Tensor,
    time_ids: torch.Tensor,
) -> torch.Tensor:
    """F(c_in·x ⊕ cond; c_noise) as float32 ``[B, F, 4, h, w]``."""
    scaled = edm.append_dims(edm.c_in(sigma), x.ndim) * x
    model_in = torch.cat([scaled, cond_latent.float()], dim=2)
    out = unet(
        model_in.to(unet.dtype),
        edm.c_noise(sigma).to(unet.dtype),
        encoder_hidden_states=embeds.to(unet.dtype),
        added_time_ids=time_ids.to(unet.dtype),
        return_dict=False,
    )[0]
    return out.float()
