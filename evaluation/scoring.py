"""Score one model on evaluation samples with every metric family, and compare two models.

All scores are paired: candidate and champion see the same samples, σ values,
noise (seeded generators), conditioning and feature networks. Per-sample values
are kept, so a metric listed in ``MetricsConfig.intervals`` gets a bootstrap
interval and, against the champion, a paired-difference interval
(:mod:`evaluation.metrics.intervals`). A metric whose network is not configured
(or that cannot be computed on these samples) is absent from ``metrics`` and
named with its reason in ``not_computed`` — never faked.

Metrics (definitions in each module): ``heldout_loss`` (denoising), ``first_frame_psnr``,
``video_psnr``, ``ssim``, ``lpips`` (fidelity; the conditioning image is the
reference's first frame), ``temporal_psnr``, ``temporal_gap_db``,
``flow_warp_error`` (temporal), ``clip_image``, ``clip_text`` (clip_score),
``fvd``, ``fid`` (Fréchet, against the evaluation set's real statistics) and
``motion_faithfulness`` (motion).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from evaluation.metrics import fidelity, temporal
from evaluation.metrics.frechet import GaussianStats, frechet_from_stats
from evaluation.metrics.intervals import Interval, bootstrap, mean_of, paired_difference

if TYPE_CHECKING:
    import torch

    from curation.models.clip_scorer import ClipScorer
    from evaluation.config import EvalConfig
    from evaluation.metrics.feature_net import FeatureNet

#: metric → True when lower is better
LOWER_IS_BETTER = {
    "heldout_loss": True, "first_frame_psnr": False, "video_psnr": False, "ssim": False, "lpips": True,
    "temporal_psnr": False, "temporal_gap_db": True, "flow_warp_error": True, "clip_image": False,
    "clip_text": False, "fvd": True, "fid": True, "motion_faithfulness": False,
}


@dataclass(frozen=True)
class EvalSample:
    """One evaluation sample: reference clip ``[F, 3, H, W]`` in [−1, 1] (its first frame conditions) + metadata."""

    sample_id: str
    frames: torch.Tensor
    fps: float
    motion_bucket: float
    caption: str = ""


@dataclass
class Scorers:
    """Feature networks loaded once for both models, and the real-set statistics FVD/FID compare with."""

    i3d: FeatureNet | None = None
    inception: FeatureNet | None = None
    lpips: FeatureNet | None = None
    clip: ClipScorer | None = None
    clip_uri: str = ""
    real: dict[str, GaussianStats] = field(default_factory=dict)

    def provenance(self) -> dict[str, Any]:
        """Which network (uri, sha256) produced which metric; ``None`` for not configured."""
        nets = {"fvd": self.i3d, "fid": self.inception, "lpips": self.lpips}
        out: dict[str, Any] = {k: (v.describe() if v else None) for k, v in nets.items()}
        out["clip"] = {"uri": self.clip_uri} if self.clip else None
        return out


@dataclass
class ModelScore:
    """One model's scores: means, per-sample values, features (for Fréchet intervals), videos, motion."""

    metrics: dict[str, float]
    per_sample: dict[str, list[float]]
    features: dict[str, list[np.ndarray]]
    videos: list[np.ndarray]
    motion: list[list[float]]
    not_computed: dict[str, str]


def to_unit(frames: torch.Tensor) -> np.ndarray:
    """``[F, 3, H, W]`` in [−1, 1] → ``[F, H, W, 3]`` in [0, 1]."""
    return ((frames.permute(0, 2, 3, 1).numpy() + 1.0) / 2.0).clip(0.0, 1.0)


def generate(pipe: Any, sample: EvalSample, steps: int, seed: int, noise_aug_strength: float,
             motion_bucket: float | None = None) -> np.ndarray:
    """Generate a video from the sample's first frame → ``[F, H, W, 3]`` float in [0, 1]."""
    import torch
    from PIL import Image

    first = (to_unit(sample.frames[:1])[0] * 255.0).round().astype(np.uint8)
    f, _, h, w = sample.frames.shape
    bucket = sample.motion_bucket if motion_bucket is None else motion_bucket
    with torch.inference_mode():
        out = pipe(
            Image.fromarray(first), height=h, width=w, num_frames=f, num_inference_steps=steps,
            fps=max(1, round(sample.fps)), motion_bucket_id=round(bucket),
            noise_aug_strength=noise_aug_strength, decode_chunk_size=f,
            generator=torch.Generator().manual_seed(seed), output_type="np",
        )
    return np.asarray(out.frames[0], dtype=np.float32)


def _per_sample(videos: list[np.ndarray], reals: list[np.ndarray], scorers: Scorers,
                samples: list[EvalSample]) -> tuple[dict[str, list[float]], dict[str, str]]:
    from evaluation.metrics.clip_score import image_frame_similarity, text_frame_similarity

    pairs = list(zip(videos, reals, strict=True))
    values: dict[str, list[float]] = {
        "first_frame_psnr": [fidelity.psnr(v[0], r[0]) for v, r in pairs],
        "video_psnr": [fidelity.psnr(v, r) for v, r in pairs],
        "ssim": [fidelity.ssim(v, r) for v, r in pairs],
        "temporal_psnr": [temporal.temporal_psnr(v) for v in videos],
        "temporal_gap_db": [abs(temporal.temporal_psnr(v) - temporal.temporal_psnr(r)) for v, r in pairs],
        "flow_warp_error": [temporal.flow_warp_error(v) for v in videos],
    }
    missing: dict[str, str] = {}
    if scorers.lpips is not None:
        values["lpips"] = [fidelity.lpips(scorers.lpips, v, r) for v, r in pairs]
    else:
        missing["lpips"] = "no LPIPS network configured (metrics.lpips.uri)"
    if scorers.clip is not None:
        values["clip_image"] = image_frame_similarity(scorers.clip, [r[0] for r in reals], videos)
        text = [t for t in text_frame_similarity(scorers.clip, [s.caption for s in samples], videos) if t is not None]
        if text:
            values["clip_text"] = text
        else:
            missing["clip_text"] = "no sample has a caption (image-conditioned set)"
    else:
        missing["clip_image"] = missing["clip_text"] = "no CLIP configured (metrics.clip_uri)"
    return values, missing


def _frechet_features(videos: list[np.ndarray], scorers: Scorers) -> tuple[dict[str, list[np.ndarray]], dict[str, str]]:
    from evaluation.metrics.fid import inception_features
    from evaluation.metrics.fvd import i3d_features

    feats: dict[str, list[np.ndarray]] = {}
    missing: dict[str, str] = {}
    for name, net, what in (("fvd", scorers.i3d, "I3D (metrics.i3d.uri)"),
                            ("fid", scorers.inception, "Inception (metrics.inception.uri)")):
        if net is None:
            missing[name] = f"no {what} configured"
        elif name == "fvd" and len(videos) < 2:
            missing[name] = "needs at least 2 samples (one I3D feature per video)"
        elif name not in scorers.real:
            missing[name] = "no real-set statistics for this network"
        elif name == "fvd":
            feats[name] = list(i3d_features(net, videos))
        else:
            feats[name] = [inception_features(net, [v]) for v in videos]
    return feats, missing


def frechet_statistic(name: str, feats: list[np.ndarray], real: GaussianStats) -> Callable[[np.ndarray], float]:
    """The statistic "FVD/FID of the selected samples" (one feature row per video, or rows per frame for FID)."""
    rows = [np.atleast_2d(f) for f in feats]
    return lambda idx: frechet_from_stats(GaussianStats.of(np.concatenate([rows[i] for i in idx])), real)


def score(pipe: Any, samples: list[EvalSample], scorers: Scorers, config: EvalConfig) -> ModelScore:
    """Every metric of one model on ``samples`` (see the module docstring)."""
    from evaluation.metrics.denoising import per_sample_loss
    from evaluation.metrics.motion import mean_flow, motion_faithfulness

    gen = config.generation
    videos = [generate(pipe, s, gen.num_inference_steps, config.seed + i, gen.noise_aug_strength)
              for i, s in enumerate(samples)]
    reals = [to_unit(s.frames) for s in samples]
    per_sample, missing = _per_sample(videos, reals, scorers, samples)
    per_sample["heldout_loss"] = per_sample_loss(pipe, samples, config.sigmas, config.seed, gen.noise_aug_strength)
    feats, missing_f = _frechet_features(videos, scorers)
    missing.update(missing_f)
    metrics = {k: float(np.mean(v)) for k, v in per_sample.items()}
    for name, rows in feats.items():
        metrics[name] = frechet_statistic(name, rows, scorers.real[name])(np.arange(len(rows)))
    motion: list[list[float]] = []
    buckets = config.metrics.motion_buckets
    if config.metrics.motion_images and len(buckets) >= 2:
        for i, s in enumerate(samples[: config.metrics.motion_images]):
            motion.append([mean_flow(generate(pipe, s, gen.num_inference_steps, config.seed + i,
                                              gen.noise_aug_strength, b)) for b in buckets])
        metrics["motion_faithfulness"] = motion_faithfulness(buckets, motion)
    else:
        missing["motion_faithfulness"] = "needs metrics.motion_images >= 1 and two motion_buckets"
    metrics["eval_samples"] = float(len(samples))
    return ModelScore(metrics, per_sample, feats, videos, motion, missing)


def _statistic(result: ModelScore, name: str, scorers: Scorers) -> Callable[[np.ndarray], float] | None:
    if name in result.per_sample:
        return mean_of(result.per_sample[name])
    if name in result.features:
        return frechet_statistic(name, result.features[name], scorers.real[name])
    return None


def intervals(cand: ModelScore, champ: ModelScore | None, scorers: Scorers, config: EvalConfig,
              ) -> tuple[dict[str, Interval], dict[str, Interval], dict[str, Interval]]:
    """Bootstrap intervals of the configured metrics: candidate, champion, paired (candidate − champion).

    ``clip_text`` is only paired when both models scored the same captioned samples (always, on one set).
    """
    m = config.metrics
    kw = {"n_boot": m.n_boot, "level": m.level, "seed": config.seed}
    c_iv, b_iv, d_iv = {}, {}, {}
    for name in m.intervals:
        a = _statistic(cand, name, scorers)
        if a is None:
            continue
        n = len(cand.per_sample.get(name, cand.features.get(name, [])))
        c_iv[name] = bootstrap(a, n, **kw)
        b = _statistic(champ, name, scorers) if champ is not None else None
        if b is not None:
            b_iv[name] = bootstrap(b, n, **kw)
            d_iv[name] = paired_difference(a, b, n, **kw)
    return c_iv, b_iv, d_iv
