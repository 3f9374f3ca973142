"""Evaluation wall time per sample on the tiny model, split by metric family, and batched feature extraction.

Set-up (outside the timings): a tiny random SVD pipeline, ``--samples`` synthetic
reference clips, and tiny random I3D / Inception / LPIPS / CLIP networks saved to a
temporary directory and loaded through the real loaders (no download). Then, per
repeat and interleaved, it times generation, PSNR+SSIM, temporal (flow-warp error
+ temporal PSNR), LPIPS, CLIP image score, FVD and FID features, and the held-out
denoising loss — each as ms per sample — plus the whole :func:`evaluation.scoring.score`.
Two baselines in the same run: I3D/Inception features one video per call against
batched calls, and recomputing the real-set statistics against reading the ones
an evaluation set caches (``GaussianStats.to_bytes`` / ``from_bytes``).

Every cheap timing gets one untimed warm-up call first. Ends with one line
``RESULT name=evaluation ...`` (medians over ``--repeats``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _ms(fn: Callable[[], Any], per: int) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000.0 / per


def _setup(tmp: Path, n: int, frames: int, size: int) -> dict[str, Any]:
    import torch

    from curation.models.clip_scorer import load_clip_scorer
    from evaluation.config import EvalConfig, MetricsConfig
    from evaluation.metrics.feature_net import load_feature_net
    from evaluation.scoring import EvalSample, Scorers
    from tests.support.tiny_clip import save_tiny_clip
    from tests.support.tiny_feature_nets import TinyI3D, TinyInception, TinyLPIPS, save_net
    from training.model import build_pipeline, load_model_config

    torch.manual_seed(0)
    defaults = MetricsConfig()  # the shipped call conventions of each network
    nets = {name: load_feature_net(getattr(defaults, name).model_copy(update={"uri": str(save_net(net(),
                                                                             tmp / f"{name}.pt"))}))
            for name, net in (("i3d", TinyI3D), ("inception", TinyInception), ("lpips", TinyLPIPS))}
    clip = load_clip_scorer(str(save_tiny_clip(tmp / "clip")))
    scorers = Scorers(nets["i3d"], nets["inception"], nets["lpips"], clip, str(tmp / "clip"))
    gen = torch.Generator().manual_seed(1)
    samples = [EvalSample(f"s{i}", torch.rand(frames, 3, size, size, generator=gen) * 2 - 1, 8.0, 127.0,
                          f"caption {i}") for i in range(n)]
    pipe = build_pipeline(load_model_config("tiny"), seed=0)
    pipe.set_progress_bar_config(disable=True)
    config = EvalConfig.model_validate({"generation": {"num_inference_steps": 4},
                                        "metrics": {"motion_images": 0}})
    return {"pipe": pipe, "samples": samples, "scorers": scorers, "config": config}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import numpy as np
    import torch

    from evaluation.metrics import fidelity, temporal
    from evaluation.metrics.clip_score import image_frame_similarity
    from evaluation.metrics.denoising import per_sample_loss
    from evaluation.metrics.fid import inception_features
    from evaluation.metrics.frechet import GaussianStats
    from evaluation.metrics.fvd import i3d_features
    from evaluation.scoring import generate, score, to_unit

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="vf-bench-eval-") as tmp:
        s = _setup(Path(tmp), args.samples, args.frames, args.size)
        pipe, samples, sc, cfg = s["pipe"], s["samples"], s["scorers"], s["config"]
        n, steps = len(samples), cfg.generation.num_inference_steps
        videos = [generate(pipe, x, steps, i, cfg.generation.noise_aug_strength) for i, x in enumerate(samples)]
        reals = [to_unit(x.frames) for x in samples]
        real_fvd = GaussianStats.of(np.concatenate([i3d_features(sc.i3d, reals)] * 2))
        cached = real_fvd.to_bytes()
        sc.real = {"fvd": real_fvd, "fid": GaussianStats.of(inception_features(sc.inception, reals))}
        timings: dict[str, Callable[[], Any]] = {
            "generate": lambda: [generate(pipe, x, steps, i, 0.02) for i, x in enumerate(samples)],
            "fidelity": lambda: [(fidelity.psnr(v, r), fidelity.ssim(v, r)) for v, r in zip(videos, reals,
                                                                                              strict=True)],
            "temporal": lambda: [(temporal.flow_warp_error(v), temporal.temporal_psnr(v)) for v in videos],
            "lpips": lambda: [fidelity.lpips(sc.lpips, v, r) for v, r in zip(videos, reals, strict=True)],
            "clip": lambda: image_frame_similarity(sc.clip, [r[0] for r in reals], videos),
            "fvd_batched": lambda: i3d_features(sc.i3d, videos),
            "fvd_per_video": lambda: [i3d_features(sc.i3d, [v]) for v in videos],
            "fid_batched": lambda: inception_features(sc.inception, videos),
            "fid_per_video": lambda: [inception_features(sc.inception, [v]) for v in videos],
            "denoising": lambda: per_sample_loss(pipe, samples, cfg.sigmas, cfg.seed, 0.02),
            "real_stats_recomputed": lambda: GaussianStats.of(i3d_features(sc.i3d, reals)),
            "real_stats_cached": lambda: GaussianStats.from_bytes(cached),
            "score_total": lambda: score(pipe, samples, sc, cfg),
        }
        runs: dict[str, list[float]] = {k: [] for k in timings}
        for name, fn in timings.items():  # warm-up (first-call costs), except the three that run the model
            if name not in ("generate", "denoising", "score_total"):
                fn()
        for _ in range(args.repeats):
            for name, fn in timings.items():  # interleaved: every repeat times every metric once
                runs[name].append(_ms(fn, n))
    med = {k: statistics.median(v) for k, v in runs.items()}
    for name, value in med.items():
        print(f"{name:>24}: {value:9.2f} ms/sample")
    figures = {f"ms_{k}": f"{v:.2f}" for k, v in med.items()}
    figures["fvd_batch_speedup"] = f"{med['fvd_per_video'] / med['fvd_batched']:.2f}"
    figures["fid_batch_speedup"] = f"{med['fid_per_video'] / med['fid_batched']:.2f}"
    figures["real_stats_cache_speedup"] = f"{med['real_stats_recomputed'] / max(med['real_stats_cached'], 1e-6):.1f}"
    figures["metrics_share_of_score"] = f"{1 - med['generate'] / med['score_total']:.2f}"
    line = " ".join(f"{k}={v}" for k, v in figures.items())
    print(f"RESULT name=evaluation samples={n} frames={args.frames} size={args.size}x{args.size} steps={steps} "
          f"models=tiny_random {line}")


if __name__ == "__main__":
    main()
