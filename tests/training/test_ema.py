"""EMA helpers around diffusers' EMAModel."""

from __future__ import annotations

from typing import Any

import torch

from training.ema import apply_ema, make_ema
from training.model import build_pipeline, load_model_config


def test_off_when_decay_is_none(tiny_pipe: Any) -> None:
    assert make_ema(tiny_pipe.unet, None) is None
    apply_ema(None, tiny_pipe.unet)  # no-op


def test_ema_tracks_and_applies() -> None:
    unet = build_pipeline(load_model_config("tiny"), seed=0).unet
    ema = make_ema(unet, 0.5)
    assert ema is not None
    start = [p.detach().clone() for p in unet.parameters()]
    for step in range(3):
        with torch.no_grad():
            for p in unet.parameters():
                p.add_(1.0)
        ema.step(unet.parameters())
        assert ema.optimization_step == step + 1
    apply_ema(ema, unet)
    moved = [(p - s).mean().item() for p, s in zip(unet.parameters(), start, strict=True)]
    # decay at step k is min(0.5, k/(9+k)): step 1 copies (+1), step 2 keeps 2/11, step 3 keeps 3/12
    expected = 3 / 12 * (2 / 11 * 1 + 9 / 11 * 2) + 9 / 12 * 3
    assert all(abs(m - expected) < 1e-4 for m in moved)
