from pathlib import Path

import numpy as np
import pytest

from evaluation.config import FeatureNetConfig
from evaluation.metrics.feature_net import load_feature_net
from evaluation.metrics.fidelity import PSNR_CAP, lpips, psnr, ssim
from tests.support.tiny_feature_nets import TinyLPIPS, save_net


def test_psnr_known_values() -> None:
    a = np.zeros((2, 4, 4, 3))
    assert psnr(a, a) == PSNR_CAP
    assert psnr(a, a + 0.1) == pytest.approx(20.0, abs=1e-4)
    assert psnr(a, a + 0.01) == pytest.approx(40.0, abs=1e-3)
    with pytest.raises(ValueError, match="shapes differ"):
        psnr(a, a[:1])


def test_ssim_known_values() -> None:
    rng = np.random.default_rng(0)
    a = rng.random((2, 24, 24, 3)).astype(np.float32)
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-6)
    # a constant offset leaves structure and contrast: SSIM = luminance term only, close to 1
    assert 0.9 < ssim(a, np.clip(a + 0.05, 0, 1)) < 1.0
    assert ssim(a, rng.random((2, 24, 24, 3)).astype(np.float32)) < 0.1  # independent noise


def test_lpips_with_a_tiny_network(tmp_path: Path) -> None:
    net = load_feature_net(FeatureNetConfig(uri=str(save_net(TinyLPIPS(), tmp_path / "lpips.pt")), batch_size=2))
    assert net is not None
    rng = np.random.default_rng(1)
    a = rng.random((3, 16, 16, 3)).astype(np.float32)
    assert lpips(net, a, a) == pytest.approx(0.0, abs=1e-6)
    near, far = lpips(net, a, np.clip(a + 0.02, 0, 1)), lpips(net, a, rng.random(a.shape).astype(np.float32))
    assert 0 < near < far
