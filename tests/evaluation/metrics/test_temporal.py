import numpy as np
import pytest

from evaluation.metrics.temporal import flow_warp_error, pair_warp_error, temporal_psnr


def _blob_video(shift: float, n: int = 4, size: int = 48) -> np.ndarray:
    """A smooth Gaussian blob on a gradient, moving right by ``shift`` px per frame."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    frames = []
    for t in range(n):
        cx = 16 + shift * t
        blob = np.exp(-((xs - cx) ** 2 + (ys - 24) ** 2) / (2 * 5.0**2))
        img = 0.2 + 0.3 * xs / size + 0.5 * blob
        frames.append(np.repeat(img[..., None], 3, axis=2))
    return np.clip(np.stack(frames), 0, 1).astype(np.float32)


def test_static_video_has_zero_warp_error() -> None:
    video = np.repeat(_blob_video(0.0, n=1), 3, axis=0)
    assert flow_warp_error(video) == pytest.approx(0.0, abs=1e-8)
    assert flow_warp_error(video[:1]) == 0.0


def test_moving_content_is_explained_by_flow_flicker_is_not() -> None:
    moving = _blob_video(2.0)
    naive = float(np.mean((moving[1:] - moving[:-1]) ** 2))  # error without warping
    err = flow_warp_error(moving)
    assert err < 0.2 * naive and err < 1e-3
    rng = np.random.default_rng(0)
    flicker = rng.random((4, 48, 48, 3)).astype(np.float32)
    assert flow_warp_error(flicker) > 0.05 > err
    _, valid = pair_warp_error(moving[0], moving[1])
    assert valid > 0.8


def test_temporal_psnr_penalises_flicker() -> None:
    rng = np.random.default_rng(0)
    smooth = np.repeat(rng.random((1, 8, 8, 3)), 5, axis=0) + np.linspace(0, 0.01, 5)[:, None, None, None]
    flicker = rng.random((5, 8, 8, 3))
    assert temporal_psnr(np.clip(smooth, 0, 1)) > 40 > temporal_psnr(flicker)
    assert temporal_psnr(smooth[:1]) == 100.0
