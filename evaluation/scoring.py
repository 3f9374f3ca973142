"""Metrics of an image-to-video model on held-out clips.

All metrics are paired: the candidate and the champion see the same clips, the
same σ values, the same noise (seeded generators) and the same conditioning.

* ``heldout_loss`` — mean EDM-weighted denoising loss over a fixed σ grid
  (lower is better); the training objective on data the model never saw.
* ``first_frame_psnr`` — PSNR (dB) between the generated first frame and the
  conditioning frame: does the video start from the given image.
* ``video_psnr`` — PSNR (dB) between the generated video and the real clip:
  reconstruction of the real continuation from its first frame.
* ``temporal_psnr`` — mean PSNR (dB) between consecutive generated frames:
  temporal consistency (flicker lowers it); compared with the real clip's
  value as ``temporal_gap_db`` (0 = as smooth as real video).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class HeldoutClip:
    """One held-out sample: frames ``[F, 3, H, W]`` in [−1, 1] plus its conditioning."""

    clip_id: str
    frames: torch.Tensor
    fps: float
    motion_bucket: float


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two arrays with values in [0, 1] (identical → 100 dB cap)."""
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return 100.0 if mse <= 1e-10 else float(10.0 * np.log10(1.0 / mse))


def temporal_psnr(video: np.ndarray) -> float:
    """Mean PSNR between consecutive frames of ``video`` ``[F, H, W, 3]`` in [0, 1]."""
    if len(video) < 2:
        return 100.0
    return float(np.mean([psnr(video[i], video[i + 1]) for i in range(len(video) - 1)]))


def heldout_loss(pipe: Any, clips: list[HeldoutClip], sigmas: tuple[float, ...], seed: int,
                 noise_aug_strength: float) -> float:
    """Mean denoising loss over ``clips`` × ``sigmas`` with seeded noise."""
    import torch

    from training.objective import denoising_loss

    losses = []
    with torch.inference_mode():
        for i, clip in enumerate(clips):
            n = len(sigmas)
            batch = clip.frames.unsqueeze(0).repeat(n, 1, 1, 1, 1)
            loss = denoising_loss(
                pipe, batch, clip.fps, clip.motion_bucket, torch.tensor(sigmas, dtype=torch.float32),
                generator=torch.Generator().manual_seed(seed + i), noise_aug_strength=noise_aug_strength,
                cond_dropout=0.0,
            )
            losses.append(loss.mean().item())
    return float(np.mean(losses))


def generate(pipe: Any, clip: HeldoutClip, steps: int, seed: int, noise_aug_strength: float) -> np.ndarray:
    """Generate a video from the clip's first frame → ``[F, H, W, 3]`` float in [0, 1]."""
    import torch
    from PIL import Image

    first = ((clip.frames[0].permute(1, 2, 0).numpy() + 1.0) * 127.5).round().clip(0, 255).astype(np.uint8)
    f, _, h, w = clip.frames.shape
    with torch.inference_mode():
        out = pipe(
            Image.fromarray(first), height=h, width=w, num_frames=f, num_inference_steps=steps,
            fps=max(1, round(clip.fps)), motion_bucket_id=round(clip.motion_bucket),
            noise_aug_strength=noise_aug_strength, decode_chunk_size=f,
            generator=torch.Generator().manual_seed(seed), output_type="np",
        )
    return np.asarray(out.frames[0], dtype=np.float32)


def to_unit(frames: torch.Tensor) -> np.ndarray:
    """``[F, 3, H, W]`` in [−1, 1] → ``[F, H, W, 3]`` in [0, 1]."""
    return ((frames.permute(0, 2, 3, 1).numpy() + 1.0) / 2.0).clip(0.0, 1.0)


def score(pipe: Any, clips: list[HeldoutClip], *, sigmas: tuple[float, ...], seed: int, steps: int,
          noise_aug_strength: float) -> tuple[dict[str, float], list[np.ndarray]]:
    """All metrics of one model on ``clips``; also returns the generated videos."""
    videos = [generate(pipe, c, steps, seed + i, noise_aug_strength) for i, c in enumerate(clips)]
    reals = [to_unit(c.frames) for c in clips]
    metrics = {
        "heldout_loss": heldout_loss(pipe, clips, sigmas, seed, noise_aug_strength),
        "first_frame_psnr": float(np.mean([psnr(v[0], r[0]) for v, r in zip(videos, reals, strict=True)])),
        "video_psnr": float(np.mean([psnr(v, r) for v, r in zip(videos, reals, strict=True)])),
        "temporal_psnr": float(np.mean([temporal_psnr(v) for v in videos])),
        "temporal_gap_db": float(
            np.mean([abs(temporal_psnr(v) - temporal_psnr(r)) for v, r in zip(videos, reals, strict=True)])
        ),
        "heldout_clips": float(len(clips)),
    }
    return metrics, videos
