from pathlib import Path

import numpy as np
import pytest
import torch

from evaluation.config import FeatureNetConfig
from evaluation.metrics.feature_net import load_feature_net
from evaluation.metrics.frechet import GaussianStats, frechet_distance
from evaluation.metrics.fvd import fvd, i3d_features, preprocess_videos
from tests.support.tiny_feature_nets import TinyI3D, save_net

KW = {"rescale": False, "resize": False, "return_features": True}


def test_preprocess_follows_the_fvd_protocol() -> None:
    videos = [np.zeros((4, 10, 12, 3), np.float32), np.ones((4, 10, 12, 3), np.float32)]
    x = preprocess_videos(videos)
    assert x.shape == (2, 3, 4, 224, 224) and x.dtype == torch.float32
    assert x[0].min() == -1.0 and x[1].max() == 1.0  # [0, 1] → [−1, 1]
    with pytest.raises(ValueError, match="frame count"):
        preprocess_videos([np.zeros((4, 8, 8, 3)), np.zeros((5, 8, 8, 3))])


def test_fvd_with_a_tiny_i3d(tmp_path: Path) -> None:
    net = load_feature_net(FeatureNetConfig(uri=str(save_net(TinyI3D(), tmp_path / "i3d.pt")), call_kwargs=KW,
                                            batch_size=3))
    assert net is not None
    rng = np.random.default_rng(0)
    real = [rng.random((4, 16, 16, 3)).astype(np.float32) for _ in range(6)]
    feats = i3d_features(net, real)
    with torch.no_grad():
        direct = TinyI3D()(preprocess_videos(real), **KW).numpy()
    assert feats.shape == (6, 16) and np.allclose(feats, direct, atol=1e-5)
    stats = GaussianStats.of(feats)
    assert fvd(feats, stats) == pytest.approx(0.0, abs=1e-8)
    shifted = [np.clip(v * 0.3, 0, 1) for v in real]
    got = fvd(i3d_features(net, shifted), stats)
    assert got == pytest.approx(frechet_distance(i3d_features(net, shifted), feats), rel=1e-9) and got > 0
