from pathlib import Path

import numpy as np
import pytest
import torch

from evaluation.config import FeatureNetConfig
from evaluation.metrics.feature_net import load_feature_net
from evaluation.metrics.fid import fid, inception_features, preprocess_frames
from evaluation.metrics.frechet import GaussianStats
from tests.support.tiny_feature_nets import TinyInception, save_net


def test_preprocess_follows_the_fid_protocol() -> None:
    x = preprocess_frames([np.ones((2, 8, 8, 3), np.float32), np.zeros((3, 8, 8, 3), np.float32)])
    assert x.shape == (5, 3, 299, 299) and x.max() == 255.0 and x.min() == 0.0


def test_fid_with_a_tiny_inception_state_dict(tmp_path: Path) -> None:
    path = save_net(TinyInception(seed=2), tmp_path / "inception.pt", "state_dict")
    net = load_feature_net(FeatureNetConfig(uri=str(path), format="state_dict",
                                            arch="tests.support.tiny_feature_nets:TinyInception",
                                            arch_kwargs={"seed": 9}, call_kwargs={"return_features": True}))
    assert net is not None
    rng = np.random.default_rng(1)
    videos = [rng.random((3, 12, 12, 3)).astype(np.float32) for _ in range(4)]
    feats = inception_features(net, videos)
    with torch.no_grad():
        direct = TinyInception(seed=2)(preprocess_frames(videos)).numpy()
    assert feats.shape == (12, 8) and np.allclose(feats, direct, atol=1e-5)
    assert fid(feats, GaussianStats.of(feats)) == pytest.approx(0.0, abs=1e-8)
    assert fid(inception_features(net, [v * 0.2 for v in videos]), GaussianStats.of(feats)) > 0
