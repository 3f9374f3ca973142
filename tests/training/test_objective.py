"""The SVD I2V denoising objective on the tiny random pipeline."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from tests.support.tiny_dataset import video_batch
from training.model import build_pipeline, load_model_config
from training.objective import (
    Components,
    _keep_mask,
    clip_pixels,
    denoising_loss,
    dropout_masks,
    encode_conditioning,
    encode_frames,
)


def _loss(pipe: Any, frames: torch.Tensor, seed: int = 0, **kw: Any) -> torch.Tensor:
    sigma = torch.tensor([0.5, 2.0][: frames.shape[0]])
    return denoising_loss(pipe, frames, 7.0, 127.0, sigma, generator=torch.Generator().manual_seed(seed), **kw)


def test_loss_is_finite_per_sample(tiny_pipe: Any) -> None:
    with torch.no_grad():
        loss = _loss(tiny_pipe, video_batch())
    assert loss.shape == (2,)
    assert loss.dtype == torch.float32
    assert bool(torch.isfinite(loss).all()) and bool((loss > 0).all())


def test_loss_is_pure_function_of_inputs_and_generator(tiny_pipe: Any) -> None:
    frames = video_batch()
    with torch.no_grad():
        a, b, c = _loss(tiny_pipe, frames, 0), _loss(tiny_pipe, frames, 0), _loss(tiny_pipe, frames, 1)
        d = _loss(tiny_pipe, frames, 0, noise_aug_strength=0.02)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert not torch.equal(a, d)


def test_accepts_components_and_per_sample_conditioning(tiny_pipe: Any) -> None:
    parts = Components(tiny_pipe.unet, tiny_pipe.vae, tiny_pipe.image_encoder, tiny_pipe.feature_extractor)
    frames = video_batch(f=1)
    sigma = torch.tensor([0.3, 3.0])
    with torch.no_grad():
        from_pipe = denoising_loss(tiny_pipe, frames, torch.tensor([7.0, 7.0]), torch.tensor([127.0, 127.0]),
                                   sigma, generator=torch.Generator().manual_seed(5))
        from_parts = denoising_loss(parts, frames, 7.0, 127.0, sigma, generator=torch.Generator().manual_seed(5))
        other_fps = denoising_loss(parts, frames, torch.tensor([7.0, 25.0]), 127.0, sigma,
                                   generator=torch.Generator().manual_seed(5))
    assert torch.equal(from_pipe, from_parts)
    assert from_pipe[0] == other_fps[0] and from_pipe[1] != other_fps[1]


def test_gradients_reach_unet_only() -> None:
    pipe = build_pipeline(load_model_config("tiny"), seed=1)
    _loss(pipe, video_batch()).mean().backward()
    unet_grads = [p.grad for p in pipe.unet.parameters()]
    assert sum(g is not None and bool(g.abs().sum() > 0) for g in unet_grads) > 0.9 * len(unet_grads)
    assert all(p.grad is None for p in pipe.vae.parameters())
    assert all(p.grad is None for p in pipe.image_encoder.parameters())


def _capture_unet_inputs(pipe: Any, frames: torch.Tensor, cond_dropout: float) -> dict[str, torch.Tensor]:
    seen: dict[str, torch.Tensor] = {}

    def hook(_module: Any, args: tuple, kwargs: dict) -> None:
        seen["concat"] = args[0][:, :, 4:].clone()
        seen["embeds"] = kwargs["encoder_hidden_states"].clone()
        seen["time_ids"] = kwargs["added_time_ids"].clone()

    handle = pipe.unet.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        with torch.no_grad():
            _loss(pipe, frames, cond_dropout=cond_dropout, noise_aug_strength=0.02)
    finally:
        handle.remove()
    return seen


def test_cond_dropout_zeroes_conditioning(tiny_pipe: Any) -> None:
    frames = video_batch(f=3)
    kept = _capture_unet_inputs(tiny_pipe, frames, 0.0)
    dropped = _capture_unet_inputs(tiny_pipe, frames, 1.0)
    assert kept["embeds"].shape == (2, 1, 32) and kept["concat"].shape[:3] == (2, 3, 4)
    assert bool((kept["embeds"].abs().sum(dim=(1, 2)) > 0).all())
    assert bool((kept["concat"].abs().flatten(1).sum(1) > 0).all())
    # the same conditioning latent on every frame
    torch.testing.assert_close(kept["concat"][:, 0], kept["concat"][:, 2])
    assert torch.count_nonzero(dropped["embeds"]) == 0
    assert torch.count_nonzero(dropped["concat"]) == 0
    # micro-conditioning is never dropped: [fps − 1, motion bucket, σ_aug]
    torch.testing.assert_close(dropped["time_ids"], torch.tensor([[6.0, 127.0, 0.02]] * 2))


def test_dropout_mask_rate() -> None:
    mask = _keep_mask(20000, 0.1, torch.Generator().manual_seed(0), torch.device("cpu"))
    assert set(mask.unique().tolist()) == {0.0, 1.0}
    assert 1 - mask.mean().item() == pytest.approx(0.1, abs=0.01)


def test_clip_input_matches_pipeline_encode_image(tiny_pipe: Any) -> None:
    """Training sees the same CLIP embedding the SVD pipeline computes for a PIL image."""
    from PIL import Image

    rgb = np.random.default_rng(0).integers(0, 256, size=(40, 56, 3), dtype=np.uint8)
    frame = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 127.5 - 1.0
    with torch.no_grad():
        ours = tiny_pipe.image_encoder(clip_pixels(frame, tiny_pipe.feature_extractor, 224)).image_embeds
        theirs = tiny_pipe._encode_image(Image.fromarray(rgb), "cpu", 1, False)[:, 0]
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("frames", "sigma", "match"),
    [
        (torch.zeros(2, 3, 32, 32), torch.ones(2), "frames must be"),
        (torch.zeros(2, 1, 3, 32, 32), torch.ones(3), "sigma"),
        (torch.zeros(2, 1, 3, 32, 32), torch.tensor([1.0, 0.0]), "sigma"),
    ],
)
def test_bad_inputs_raise(tiny_pipe: Any, frames: torch.Tensor, sigma: torch.Tensor, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        denoising_loss(tiny_pipe, frames, 7.0, 127.0, sigma, generator=None)


def test_bad_dropout_raises(tiny_pipe: Any) -> None:
    with pytest.raises(ValueError, match="cond_dropout"):
        denoising_loss(tiny_pipe, video_batch(f=1), 7.0, 127.0, torch.ones(2), generator=None, cond_dropout=2.0)


class _CopyOracle(torch.nn.Module):
    """A "UNet" predicting D = scaling_factor × the concatenated conditioning latent.

    It inverts the EDM preconditioning (σ from c_noise = ¼·ln σ, x from c_in·x) so that
    the denoiser output is a copy of the conditioning frame's latent: a perfect
    predictor whenever that latent is the target.
    """

    def __init__(self, scaling: float) -> None:
        super().__init__()
        self.scaling = scaling
        self.config = type("Cfg", (), {})()

    @property
    def dtype(self) -> torch.dtype:
        return torch.float32

    def forward(self, model_in: torch.Tensor, timestep: torch.Tensor, **_: Any) -> tuple[torch.Tensor]:
        from training import edm

        sigma = torch.exp(4.0 * timestep)
        x = model_in[:, :, :4] / edm.append_dims(edm.c_in(sigma), 5)
        copied = model_in[:, :, 4:] * self.scaling
        out = (copied - edm.append_dims(edm.c_skip(sigma), 5) * x) / edm.append_dims(edm.c_out(sigma), 5)
        return (out,)


def _oracle_loss(pipe: Any, concat: bool, zero: bool = False) -> float:
    parts = Components(_CopyOracle(0.0 if zero else pipe.vae.config.scaling_factor), pipe.vae,
                       pipe.image_encoder, pipe.feature_extractor)
    frames = video_batch(b=4, f=1, seed=3)
    sigma = torch.tensor([0.1, 0.5, 1.0, 3.0])
    with torch.no_grad():
        loss = denoising_loss(parts, frames, 7.0, 127.0, sigma, generator=torch.Generator().manual_seed(0),
                              noise_aug_strength=0.02, concat_latent=concat)
    return float(loss.mean())


def test_copy_oracle_cannot_reach_a_low_loss_in_stage1(tiny_pipe: Any) -> None:
    from training.config import load_stage_config

    cfg = load_stage_config("stage1_image")
    assert not cfg.concat_latent  # the stage config says: no concatenated latent for image samples
    zero = _oracle_loss(tiny_pipe, concat=True, zero=True)  # predicting D = 0
    leaky = _oracle_loss(tiny_pipe, concat=True)
    stage1 = _oracle_loss(tiny_pipe, concat=cfg.concat_latent)
    assert leaky < 0.1 * zero  # with the concat latent the oracle copies its target
    assert stage1 >= 0.99 * zero  # without it, copying is no better than predicting zero


def test_image_stage_refuses_the_concat_latent() -> None:
    from pydantic import ValidationError

    from training.config import load_stage_config

    with pytest.raises(ValidationError, match="concat_latent"):
        load_stage_config("stage1_image", {"concat_latent": True})


def test_joint_dropout_frequencies() -> None:
    n, p, dev = 200_000, 0.1, torch.device("cpu")
    embed, latent = dropout_masks(n, p, True, torch.Generator().manual_seed(0), dev)
    assert torch.equal(embed, latent)  # the unconditional input, never half of it
    assert 1 - embed.mean().item() == pytest.approx(p, abs=0.003)
    embed, latent = dropout_masks(n, p, False, torch.Generator().manual_seed(0), dev)
    both = ((embed == 0) & (latent == 0)).float().mean().item()
    assert both == pytest.approx(p * p, abs=0.002)
    assert 1 - embed.mean().item() == pytest.approx(p, abs=0.003)
    assert 1 - latent.mean().item() == pytest.approx(p, abs=0.003)


def test_joint_dropout_drops_both_inputs_of_the_same_samples(tiny_pipe: Any) -> None:
    seen: dict[str, torch.Tensor] = {}

    def hook(_module: Any, args: tuple, kwargs: dict) -> None:
        seen["concat"], seen["embeds"] = args[0][:, :, 4:].clone(), kwargs["encoder_hidden_states"].clone()

    handle = tiny_pipe.unet.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        with torch.no_grad():
            denoising_loss(tiny_pipe, video_batch(b=32, f=2, seed=1), 7.0, 127.0, torch.ones(32),
                           generator=torch.Generator().manual_seed(0), cond_dropout=0.5)
    finally:
        handle.remove()
    embed_dropped = seen["embeds"].flatten(1).abs().sum(1) == 0
    latent_dropped = seen["concat"].flatten(1).abs().sum(1) == 0
    assert torch.equal(embed_dropped, latent_dropped)
    assert 0 < int(embed_dropped.sum()) < 32


def test_frozen_encoders_run_outside_autocast(tiny_pipe: Any) -> None:
    frames = video_batch(b=1, f=2)
    plain = encode_frames(tiny_pipe.vae, frames)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        under = encode_frames(tiny_pipe.vae, frames)
        embeds, cond = encode_conditioning(tiny_pipe, frames[:, 0], torch.tensor([0.02]),
                                           torch.Generator().manual_seed(0))
    assert under.dtype == embeds.dtype == cond.dtype == torch.float32
    assert torch.equal(plain, under)  # fp32 targets under a bf16 UNet
