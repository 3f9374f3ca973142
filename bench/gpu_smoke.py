"""GPU smoke test: a few training steps of an SVD-size model in bf16 with gradient checkpointing.

Runs the vidforge stage trainer itself (:meth:`training.trainer.StageTrainer.setup` and
``train_step``: accelerate, VAE/CLIP encoding, EDM loss, clipping, AdamW) on a
randomly initialised model built from config — nothing is downloaded — and a
fixed batch of random frames. Stage II settings (``configs/training/stage2_video.yaml``)
with the recipe's high-resolution shape: 14 frames at 320×576 px (40×72 latents),
batch 1 per GPU, ``mixed_precision=bf16``, ``gradient_checkpointing=true``.

Model presets (VAE and CLIP ViT-H/14 image encoder at SVD's sizes in all but ``tiny``):

* ``svd``: SVD img2vid's UNet (blocks 320/640/1280/1280): 1,525 M parameters.
* ``half``: the same UNet at half width (160/320/640/640, head dim 32): 394 M.
* ``tiny``: ``configs/model/tiny.yaml`` (CPU self-test).
* ``auto`` (default): ``svd`` on a GPU with ≥ 40 GiB, else ``half``.

The last line is ``RESULT name=gpu_smoke device=… preset=… params_m=… frames=… resolution=HxW
batch=… steps=… sps=… peak_mem_gb=… loss=…`` (``params_m``: trainable UNet parameters in
millions; ``sps``: samples/s over the timed steps; ``peak_mem_gb``: CUDA max allocated in GiB,
max RSS on CPU). Without CUDA (and without ``--device cpu``) it prints why and
``RESULT name=gpu_smoke skipped=no_cuda``, and exits 0.

Usage: ``bench/gpu_smoke.sh [--preset svd] [--steps 4]``; CPU self-test: ``--tiny --device cpu``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

if TYPE_CHECKING:
    from training.model.config import ModelConfig

#: GPU memory from which the full SVD UNet is the default preset (fp32 weights + AdamW ≈ 24 GiB).
FULL_SIZE_MIN_GIB = 40
PRESETS = ("auto", "svd", "half", "tiny")


def model_config(preset: str) -> ModelConfig:
    """Sizes of a preset (see the module docstring)."""
    from training.model.config import ModelConfig, UNetConfig, load_model_config

    if preset == "svd":
        return ModelConfig()
    if preset == "half":
        return ModelConfig(unet=UNetConfig(block_out_channels=(160, 320, 640, 640)))
    if preset == "tiny":
        return load_model_config("tiny")
    raise ValueError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")


def pick_preset(preset: str, device: torch.device) -> str:
    """``auto`` → ``svd`` on a GPU with at least :data:`FULL_SIZE_MIN_GIB`, ``half`` on a smaller one."""
    if preset != "auto":
        return preset
    if device.type != "cuda":
        return "tiny"
    total_gib = torch.cuda.get_device_properties(device).total_memory / 2**30
    return "svd" if total_gib >= FULL_SIZE_MIN_GIB else "half"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=PRESETS, default="auto")
    parser.add_argument("--tiny", action="store_true", help="self-test: tiny model, 4 frames at 32×32, 1 + 1 steps")
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--steps", type=int, default=4, help="timed optimizer steps")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first (allocation, autotuning)")
    parser.add_argument("--batch", type=int, default=1, help="samples per step")
    parser.add_argument("--frames", type=int, default=14)
    parser.add_argument("--height", type=int, default=320)
    parser.add_argument("--width", type=int, default=576)
    args = parser.parse_args(argv)
    if args.steps < 1 or args.warmup < 0:
        parser.error("--steps must be >= 1 and --warmup >= 0")
    if args.tiny:
        args.preset, args.frames, args.height, args.width = "tiny", 4, 32, 32
        args.steps, args.warmup = 1, min(args.warmup, 1)
    return args


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Build the model, train ``warmup + steps`` steps; return the RESULT fields."""
    from bench.train import make_batch
    from training.config import load_stage_config
    from training.distributed import make_accelerator, peak_memory_mb
    from training.model import build_pipeline
    from training.trainer import StageTrainer
    from vidforge.settings import get_settings

    cfg = load_stage_config("stage2_video", {
        "num_frames": args.frames, "height": args.height, "width": args.width, "batch_size": args.batch,
        "mixed_precision": "bf16", "gradient_checkpointing": True, "ema_decay": None, "phases": [],
    })
    accelerator = make_accelerator(cfg)
    device = accelerator.device
    preset = pick_preset(args.preset, device)
    pipe = build_pipeline(model_config(preset), seed=cfg.seed)
    trainer = StageTrainer(cfg, get_settings(), "gpu-smoke", "bench", "v0")
    unet, optimizer = trainer.setup(accelerator, pipe, None)
    unet.train()
    params_m = sum(p.numel() for p in pipe.unet.parameters() if p.requires_grad) / 1e6
    batch = make_batch(cfg)
    loss = math.nan
    for step in range(1, args.warmup + 1):
        loss = trainer.train_step(accelerator, pipe, unet, optimizer, [batch], step)["loss"]
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t0 = time.perf_counter()
    for step in range(args.warmup + 1, args.warmup + args.steps + 1):
        loss = trainer.train_step(accelerator, pipe, unet, optimizer, [batch], step)["loss"]
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elapsed = time.perf_counter() - t0
    name = torch.cuda.get_device_name(device).replace(" ", "_") if device.type == "cuda" else "cpu"
    return {
        "device": name, "preset": preset, "params_m": f"{params_m:.1f}", "frames": cfg.num_frames,
        "resolution": f"{cfg.height}x{cfg.width}", "batch": cfg.batch_size, "steps": args.steps,
        "sps": f"{args.steps * cfg.batch_size / elapsed:.3f}",
        "peak_mem_gb": f"{peak_memory_mb(device) / 1024:.2f}", "loss": f"{loss:.4f}",
    }


def main(argv: list[str] | None = None) -> int:
    """Run the smoke test and print its RESULT line; 0 also when skipped for lack of CUDA."""
    args = parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("gpu_smoke: no CUDA device here; nothing to measure (use --device cpu --tiny for a self-test)")
        print("RESULT name=gpu_smoke skipped=no_cuda")
        return 0
    if args.device == "cpu":
        os.environ["ACCELERATE_USE_CPU"] = "true"  # accelerate would pick an available GPU otherwise
    fields = run(args)  # a non-finite loss raises FloatingPointError in train_step
    print("RESULT name=gpu_smoke " + " ".join(f"{k}={v}" for k, v in fields.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
