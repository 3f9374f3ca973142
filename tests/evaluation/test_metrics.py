import numpy as np
import pytest
import torch

from evaluation.metrics import HeldoutClip, heldout_loss, psnr, score, temporal_psnr, to_unit


def test_psnr_known_values() -> None:
    a = np.zeros((4, 4, 3))
    assert psnr(a, a) == 100.0
    assert psnr(a, a + 0.1) == pytest.approx(20.0)
    assert psnr(a, a + 0.01) == pytest.approx(40.0)


def test_temporal_psnr_penalises_flicker() -> None:
    rng = np.random.default_rng(0)
    smooth = np.repeat(rng.random((1, 8, 8, 3)), 5, axis=0) + np.linspace(0, 0.01, 5)[:, None, None, None]
    flicker = rng.random((5, 8, 8, 3))
    assert temporal_psnr(smooth) > 40 > temporal_psnr(flicker)
    assert temporal_psnr(smooth[:1]) == 100.0


def test_to_unit_maps_range() -> None:
    x = torch.tensor([-1.0, 0.0, 1.0]).view(1, 3, 1, 1).expand(2, 3, 2, 2)
    out = to_unit(x)
    assert out.shape == (2, 2, 2, 3)
    assert out[0, 0, 0].tolist() == [0.0, 0.5, 1.0]


@pytest.fixture(scope="module")
def pipe():
    from training.model import build_pipeline, load_model_config

    return build_pipeline(load_model_config("tiny"), seed=0)


def _clips(n: int = 2) -> list[HeldoutClip]:
    g = torch.Generator().manual_seed(0)
    return [HeldoutClip(f"c{i}", torch.rand(3, 3, 32, 32, generator=g) * 2 - 1, 7.0, 100.0) for i in range(n)]


def test_heldout_loss_is_deterministic_and_depends_on_weights(pipe) -> None:
    from training.model import build_pipeline, load_model_config

    clips = _clips()
    a = heldout_loss(pipe, clips, (0.5, 2.0), seed=3, noise_aug_strength=0.02)
    b = heldout_loss(pipe, clips, (0.5, 2.0), seed=3, noise_aug_strength=0.02)
    other = build_pipeline(load_model_config("tiny"), seed=1)
    c = heldout_loss(other, clips, (0.5, 2.0), seed=3, noise_aug_strength=0.02)
    assert a == b and np.isfinite(a) and a > 0
    assert c != a


def test_score_returns_every_metric_and_videos(pipe) -> None:
    clips = _clips()
    metrics, videos = score(pipe, clips, sigmas=(1.0,), seed=0, steps=2, noise_aug_strength=0.02)
    assert set(metrics) == {"heldout_loss", "first_frame_psnr", "video_psnr", "temporal_psnr", "temporal_gap_db",
                            "heldout_clips"}
    assert metrics["heldout_clips"] == 2.0
    assert len(videos) == 2 and videos[0].shape == (3, 32, 32, 3)
    assert all(np.isfinite(v) for v in metrics.values())
