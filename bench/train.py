"""Training-step benchmark: the vidforge trainer vs a bare diffusers + PyTorch loop, same run.

Both sides train their own copy of the same seeded tiny SVD pipeline
(``configs/model/tiny.yaml``) on the same fixed batch of frame tensors, for the
same number of optimizer steps. The vidforge side is
:meth:`training.trainer.StageTrainer.train_step` after ``setup`` (accelerate,
EDM objective with σ / noise / σ_aug / dropout draws, gradient clipping,
metrics); the bare side is a hand-written loop: VAE / CLIP encode, EDM
preconditioning and weighting, ``unet(...)``, ``backward``, ``clip_grad_norm_``,
``AdamW.step``. Each side runs ``--rounds`` times interleaved with the other
(after ``--warmup`` untimed steps) and keeps its best round, which damps the
noise of a shared machine. Peak memory is CUDA max-allocated on a GPU, else
the process's max RSS.

Usage: ``python bench/train.py [--stage stage2_video] [--steps 6] [--rounds 2]``.
The last line is ``RESULT name=train key=value ...``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

from training.config import load_stage_config
from training.distributed import make_accelerator, peak_memory_mb
from training.model import build_pipeline, load_model_config
from training.trainer import StageTrainer
from vidforge.settings import get_settings


def make_batch(cfg: Any, seed: int = 0) -> dict[str, torch.Tensor]:
    """A fixed batch of ``cfg.batch_size`` samples of ``[F, 3, H, W]`` frames in [−1, 1]."""
    g = torch.Generator().manual_seed(seed)
    b = cfg.batch_size
    frames = torch.rand(b, cfg.num_frames, 3, cfg.height, cfg.width, generator=g) * 2 - 1
    return {"frames": frames, "fps": torch.full((b,), float(cfg.target_fps)),
            "motion_bucket": torch.full((b,), 127.0), "position": torch.arange(b)}


class VidforgeSide:
    """The stage trainer's own setup and step."""

    def __init__(self, cfg: Any, settings: Any) -> None:
        self.cfg = cfg
        self.trainer = StageTrainer(cfg, settings, "bench", "bench", "v0")
        self.accelerator = make_accelerator(cfg)
        self.pipe = build_pipeline(load_model_config(cfg.model_config_name), seed=cfg.seed)
        self.unet, self.optimizer = self.trainer.setup(self.accelerator, self.pipe, None)
        self.unet.train()
        self.step_no = 0

    def step(self, batch: dict[str, torch.Tensor]) -> float:
        self.step_no += 1
        row = self.trainer.train_step(self.accelerator, self.pipe, self.unet, self.optimizer, [batch], self.step_no)
        return row["loss"]


class BareSide:
    """A hand-written EDM training loop on the diffusers modules."""

    def __init__(self, cfg: Any, device: torch.device) -> None:
        from diffusers.pipelines.stable_video_diffusion.pipeline_stable_video_diffusion import (
            _resize_with_antialiasing,
        )

        self.resize = _resize_with_antialiasing
        self.cfg, self.device = cfg, device
        pipe = build_pipeline(load_model_config(cfg.model_config_name), seed=cfg.seed)
        self.vae, self.encoder, self.unet = pipe.vae.to(device), pipe.image_encoder.to(device), pipe.unet.to(device)
        self.vae.requires_grad_(False)
        self.encoder.requires_grad_(False)
        fe = pipe.feature_extractor
        self.mean = torch.tensor(fe.image_mean, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(fe.image_std, device=device).view(1, 3, 1, 1)
        self.unet.train()
        self.optimizer = torch.optim.AdamW(self.unet.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.gen = torch.Generator(device=device).manual_seed(cfg.seed)

    def step(self, batch: dict[str, torch.Tensor]) -> float:
        cfg, dev, g = self.cfg, self.device, self.gen
        frames = batch["frames"].to(dev)
        b, f = frames.shape[:2]
        with torch.no_grad():
            latents = self.vae.encode(frames.flatten(0, 1)).latent_dist.mode() * self.vae.config.scaling_factor
            latents = latents.unflatten(0, (b, f))
            size = int(self.encoder.config.image_size)
            pixels = ((self.resize(frames[:, 0], (size, size)) + 1) / 2 - self.mean) / self.std
            embeds = self.encoder(pixels).image_embeds.unsqueeze(1)
            aug = torch.exp(torch.randn(b, generator=g, device=dev) * cfg.noise_aug_std + cfg.noise_aug_mean)
            eps = torch.randn(frames[:, 0].shape, generator=g, device=dev)
            cond = self.vae.encode(frames[:, 0] + aug.view(b, 1, 1, 1) * eps).latent_dist.mode()
            cond = cond.unsqueeze(1).repeat(1, f, 1, 1, 1)
        sigma = torch.exp(torch.randn(b, generator=g, device=dev) * cfg.p_std + cfg.p_mean)
        s = sigma.view(b, 1, 1, 1, 1)
        x = latents + s * torch.randn(latents.shape, generator=g, device=dev)
        time_ids = torch.stack([batch["fps"].to(dev) - 1, batch["motion_bucket"].to(dev), aug], dim=1)
        out = self.unet(torch.cat([x / torch.sqrt(s**2 + 1), cond], dim=2), 0.25 * torch.log(sigma),
                        encoder_hidden_states=embeds, added_time_ids=time_ids, return_dict=False)[0]
        denoised = x / (s**2 + 1) - s / torch.sqrt(s**2 + 1) * out
        weight = (1 + sigma**2) / sigma**2
        loss = (weight * ((denoised - latents) ** 2).flatten(1).mean(dim=1)).mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.unet.parameters(), cfg.max_grad_norm or math.inf)
        self.optimizer.step()
        return float(loss.item())


def timed(side: Any, batch: dict[str, torch.Tensor], steps: int, device: torch.device) -> float:
    """Samples per second of ``steps`` optimizer steps."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        side.step(batch)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return steps * batch["frames"].shape[0] / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="stage2_video", help="stage config for sizes, batch and lr")
    parser.add_argument("--steps", type=int, default=6, help="timed optimizer steps per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=None)
    args = parser.parse_args(argv)

    # the bare loop keeps no EMA and one noise distribution, resolution and lr (no phases)
    overrides: dict[str, Any] = {"ema_decay": None, "phases": []}
    if args.batch_size:
        overrides["batch_size"] = args.batch_size
    cfg = load_stage_config(args.stage, overrides)
    settings = get_settings()
    vf = VidforgeSide(cfg, settings)
    device = vf.accelerator.device
    bare = BareSide(cfg, device)
    batch = make_batch(cfg)
    for side in (vf, bare):
        for _ in range(args.warmup):
            side.step(batch)
    best = {"vidforge": 0.0, "bare": 0.0}
    for r in range(args.rounds):
        for name, side in (("vidforge", vf), ("bare", bare)):
            sps = timed(side, batch, args.steps, device)
            best[name] = max(best[name], sps)
            print(f"round {r + 1} {name:8s} {sps:8.3f} samples/s")
    ratio = best["vidforge"] / best["bare"]
    peak = peak_memory_mb(device)
    print(f"vidforge {best['vidforge']:.3f} samples/s, bare {best['bare']:.3f} samples/s, "
          f"ratio {ratio:.3f} (target >= 0.9), peak memory {peak:.0f} MiB ({device.type})")
    fields = {
        "device": device.type, "stage": cfg.name, "batch": cfg.batch_size, "frames": cfg.num_frames,
        "steps": args.steps * args.rounds, "sps_vidforge": f"{best['vidforge']:.3f}",
        "sps_bare": f"{best['bare']:.3f}", "ratio": f"{ratio:.3f}",
        ("peak_gpu_mb" if device.type == "cuda" else "peak_rss_mb"): f"{peak:.0f}",
    }
    print("RESULT name=train " + " ".join(f"{k}={v}" for k, v in fields.items()))


if __name__ == "__main__":
    main()
