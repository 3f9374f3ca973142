"""A rendered report for tests: a record as ``evaluate_run`` writes it, synthetic samples and videos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from evaluation.config import load_eval_config
from evaluation.gate import apply_gate
from evaluation.report import render_report
from evaluation.scoring import EvalSample
from tests.support.tiny_dataset import square_frames
from vidforge.store import LocalStore


def moving_square(speed: float, seed: int) -> np.ndarray:
    """``[8, 48, 64, 3]`` in [0, 1]: the tiny dataset's moving square."""
    return square_frames(speed, seed, n=8).astype(np.float32) / 255.0


def render(tmp_path: Path, champion: bool = True) -> str:
    """The report HTML of a candidate (and champion v1) on two samples."""
    store = LocalStore(tmp_path / "store")
    refs = [moving_square(2.0, 0), moving_square(1.0, 1)]
    samples = [EvalSample(f"clip-{i}", torch.from_numpy(r * 2 - 1).permute(0, 3, 1, 2), 7.0, 127.0,
                          "a square" if i == 0 else "") for i, r in enumerate(refs)]
    cand = [np.clip(r + 0.05, 0, 1) for r in refs]
    champ = [moving_square(0.0, i) for i in range(2)] if champion else None
    metrics = {"heldout_loss": 0.4, "first_frame_psnr": 30.0, "ssim": 0.9, "flow_warp_error": 0.002,
               "motion_faithfulness": 1.0, "eval_samples": 2.0}
    champ_metrics = {**metrics, "heldout_loss": 0.5, "ssim": 0.8} if champion else None
    gate = apply_gate(metrics, champ_metrics, load_eval_config().gate, 1 if champion else None,
                      {"flow_warp_error": (-0.001, 0.0005)})
    iv = {"ssim": {"value": 0.9, "low": 0.85, "high": 0.95, "level": 0.9, "n": 2}}
    record = {
        "run_id": "run-b", "stage": "stage3_finetune", "checkpoint_uri": store.uri("runs/run-b/final"),
        "sha256": "a" * 64, "dataset_name": "tiny", "dataset_version": "v1",
        "evalset": {"ref": "tiny-holdout/v1", "uri": store.uri("evalsets/tiny-holdout/v1"), "sha256": "b" * 64},
        "metrics": metrics, "champion": champ_metrics, "champion_version": 1 if champion else None,
        "champion_dataset": "tiny/v1" if champion else None,
        "not_computed": {"fvd": "no I3D (metrics.i3d.uri) configured", "fid": "no Inception configured",
                         "lpips": "no LPIPS network configured", "clip_image": "no CLIP configured",
                         "clip_text": "no CLIP configured"},
        "intervals": iv, "champion_intervals": iv if champion else {},
        "paired": {"ssim": {"value": 0.1, "low": 0.05, "high": 0.15, "level": 0.9, "n": 2}} if champion else {},
        "motion": {"buckets": [10, 127, 255], "candidate": [[0.1, 0.5, 1.2]],
                   "champion": [[0.3, 0.2, 0.1]] if champion else None},
        "metric_info": {"samples": 2, "seed": 1234, "sigmas": [1.0], "steps": 2, "n_boot": 20, "level": 0.9,
                        "networks": {"fvd": None, "fid": None, "lpips": None, "clip": None}, "real_stats": {}},
        "gate": gate.to_dict(), "stages": ["stage1_image", "stage2_video", "stage3_finetune"],
    }
    return render_report(store, record, samples, cand, champ)
