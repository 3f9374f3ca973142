"""Held-out denoising loss: the training objective on clips the model never saw.

Definition: ``heldout_loss`` = mean over samples and over a fixed σ grid of the
EDM-weighted denoising loss (``training.objective.denoising_loss``: λ(σ) =
(1+σ²)/σ², σ_data = 1) with seeded noise (seed + sample index) and no
conditioning dropout. Lower is better. :func:`per_sample_loss` gives one value
per sample (the mean over σ), so the loss gets a bootstrap interval like the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evaluation.scoring import EvalSample


def per_sample_loss(pipe: Any, samples: Sequence[EvalSample], sigmas: tuple[float, ...], seed: int,
                    noise_aug_strength: float) -> list[float]:
    """Mean denoising loss over ``sigmas`` of each sample (seeded: ``seed + index``)."""
    import torch

    from training.objective import denoising_loss

    losses = []
    with torch.inference_mode():
        for i, sample in enumerate(samples):
            batch = sample.frames.unsqueeze(0).repeat(len(sigmas), 1, 1, 1, 1)
            loss = denoising_loss(
                pipe, batch, sample.fps, sample.motion_bucket, torch.tensor(sigmas, dtype=torch.float32),
                generator=torch.Generator().manual_seed(seed + i), noise_aug_strength=noise_aug_strength,
                cond_dropout=0.0,
            )
            losses.append(float(loss.mean().item()))
    return losses
