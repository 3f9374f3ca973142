from pathlib import Path

import numpy as np
import pytest
import torch

from evaluation.config import FeatureNetConfig, load_eval_config
from evaluation.metrics.denoising import per_sample_loss
from evaluation.metrics.feature_net import load_feature_net
from evaluation.metrics.frechet import GaussianStats
from evaluation.metrics.fvd import i3d_features
from evaluation.scoring import EvalSample, Scorers, intervals, score, to_unit
from tests.support.tiny_feature_nets import TinyI3D, TinyLPIPS, save_net

CFG = load_eval_config(overrides={
    "sigmas": [1.0], "generation": {"num_inference_steps": 2},
    "metrics": {"motion_buckets": [10, 255], "motion_images": 1, "intervals": ["heldout_loss", "ssim", "fvd"],
                "n_boot": 20},
})


def test_to_unit_maps_range() -> None:
    x = torch.tensor([-1.0, 0.0, 1.0]).view(1, 3, 1, 1).expand(2, 3, 2, 2)
    out = to_unit(x)
    assert out.shape == (2, 2, 2, 3)
    assert out[0, 0, 0].tolist() == [0.0, 0.5, 1.0]


@pytest.fixture(scope="module")
def pipe():
    from training.model import build_pipeline, load_model_config

    return build_pipeline(load_model_config("tiny"), seed=0)


def _samples(n: int = 2) -> list[EvalSample]:
    g = torch.Generator().manual_seed(0)
    return [EvalSample(f"c{i}", torch.rand(3, 3, 32, 32, generator=g) * 2 - 1, 7.0, 100.0) for i in range(n)]


def test_heldout_loss_is_deterministic_and_depends_on_weights(pipe) -> None:
    from training.model import build_pipeline, load_model_config

    samples = _samples()
    a = per_sample_loss(pipe, samples, (0.5, 2.0), seed=3, noise_aug_strength=0.02)
    b = per_sample_loss(pipe, samples, (0.5, 2.0), seed=3, noise_aug_strength=0.02)
    other = build_pipeline(load_model_config("tiny"), seed=1)
    c = per_sample_loss(other, samples, (0.5, 2.0), seed=3, noise_aug_strength=0.02)
    assert a == b and len(a) == 2 and all(np.isfinite(a)) and min(a) > 0
    assert c != a


@pytest.mark.slow  # ~40 s on the shared CPUs: 6 tiny generations
def test_without_networks_the_network_metrics_are_not_computed(pipe) -> None:
    result = score(pipe, _samples(), Scorers(), CFG)
    assert set(result.not_computed) == {"lpips", "clip_image", "clip_text", "fvd", "fid"}
    assert not set(result.not_computed) & set(result.metrics)
    assert {"heldout_loss", "first_frame_psnr", "video_psnr", "ssim", "temporal_psnr", "temporal_gap_db",
            "flow_warp_error", "motion_faithfulness", "eval_samples"} == set(result.metrics)
    assert result.metrics["eval_samples"] == 2.0 and all(np.isfinite(v) for v in result.metrics.values())
    assert len(result.videos) == 2 and result.videos[0].shape == (3, 32, 32, 3)
    assert len(result.motion) == 1 and len(result.motion[0]) == 2
    assert result.per_sample["ssim"] and len(result.per_sample["ssim"]) == 2


@pytest.mark.slow  # two models × three samples
def test_with_networks_fvd_and_lpips_are_scored_with_intervals(pipe, tmp_path: Path) -> None:
    from training.model import build_pipeline, load_model_config

    i3d = load_feature_net(FeatureNetConfig(uri=str(save_net(TinyI3D(), tmp_path / "i3d.pt")),
                                            call_kwargs={"return_features": True}))
    lp = load_feature_net(FeatureNetConfig(uri=str(save_net(TinyLPIPS(), tmp_path / "lpips.pt"))))
    samples = _samples(3)
    real = GaussianStats.of(i3d_features(i3d, [to_unit(s.frames) for s in samples]))
    scorers = Scorers(i3d=i3d, lpips=lp, real={"fvd": real})
    cfg = CFG.model_copy(update={"metrics": CFG.metrics.model_copy(update={"motion_images": 0})})
    cand = score(pipe, samples, scorers, cfg)
    assert cand.metrics["fvd"] > 0 and cand.metrics["lpips"] >= 0
    assert "fvd" not in cand.not_computed and "fid" in cand.not_computed
    assert "motion_faithfulness" in cand.not_computed
    champ = score(build_pipeline(load_model_config("tiny"), seed=1), samples, scorers, cfg)
    c_iv, b_iv, d_iv = intervals(cand, champ, scorers, cfg)
    assert set(c_iv) == set(b_iv) == set(d_iv) == {"heldout_loss", "ssim", "fvd"}
    assert c_iv["fvd"].value == pytest.approx(cand.metrics["fvd"])
    assert d_iv["ssim"].value == pytest.approx(cand.metrics["ssim"] - champ.metrics["ssim"])
    assert all(iv.low <= iv.high for iv in (*c_iv.values(), *d_iv.values()))
