"""generate_frames on the tiny pipeline and encode_mp4 round trips through PyAV."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from PIL import Image

from services.serving.generate import GenerationCancelledError, GenerationParams, encode_mp4, generate_frames

if TYPE_CHECKING:
    from services.serving.watcher import LoadedModel


def _params(seed: int, **kw: int) -> GenerationParams:
    base = dict(height=32, width=48, num_frames=3, num_inference_steps=2, fps=6, motion_bucket_id=127)
    return GenerationParams(
        **{**base, **kw}, noise_aug_strength=0.02, min_guidance_scale=1.0, max_guidance_scale=3.0, seed=seed
    )


def test_generate_frames_shape_and_seed_determinism(tiny_model: LoadedModel, png: Callable[..., bytes]) -> None:
    image = Image.open(io.BytesIO(png())).convert("RGB")
    steps: list[int] = []

    a = generate_frames(tiny_model.pipeline, image, _params(seed=3), steps.append)
    b = generate_frames(tiny_model.pipeline, image, _params(seed=3))
    c = generate_frames(tiny_model.pipeline, image, _params(seed=4))

    assert a.shape == (3, 32, 48, 3) and a.dtype == np.uint8
    assert steps == [1, 2]
    np.testing.assert_array_equal(a, b)
    assert np.abs(a.astype(int) - c.astype(int)).mean() > 1.0


def test_on_step_can_cancel(tiny_model: LoadedModel, png: Callable[..., bytes]) -> None:
    image = Image.open(io.BytesIO(png())).convert("RGB")

    def stop(step: int) -> None:
        raise GenerationCancelledError(f"step {step}")

    with pytest.raises(GenerationCancelledError, match="step 1"):
        generate_frames(tiny_model.pipeline, image, _params(seed=0, num_inference_steps=5), stop)


def test_encode_mp4_round_trip(tmp_path: Path, decode_mp4: Callable[[bytes], np.ndarray]) -> None:
    # Smooth gradients survive H.264 at crf 17 within a few levels.
    y, x = np.mgrid[0:32, 0:48]
    frames = np.stack(
        [np.stack([(x * 5 + t * 20) % 256, y * 7, np.full_like(x, 128)], -1) for t in range(5)]
    ).astype(np.uint8)

    path = encode_mp4(frames, fps=8, dest=tmp_path / "out" / "clip.mp4")

    assert path.is_file() and not list(path.parent.glob("*.tmp*"))
    decoded = decode_mp4(path.read_bytes())
    assert decoded.shape == frames.shape
    assert np.abs(decoded.astype(int) - frames.astype(int)).mean() < 6
    import av

    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        assert (stream.codec_context.name, stream.average_rate) == ("h264", 8)
        assert stream.codec_context.pix_fmt == "yuv420p"


@pytest.mark.parametrize(
    ("shape", "dtype", "match"),
    [((2, 31, 32, 3), np.uint8, "even"), ((0, 32, 32, 3), np.uint8, "1 frame"),
     ((2, 32, 32), np.uint8, "T, H, W, 3"), ((2, 32, 32, 3), np.float32, "uint8")],
)
def test_encode_mp4_rejects_bad_frames(tmp_path: Path, shape: tuple[int, ...], dtype: type, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        encode_mp4(np.zeros(shape, dtype), fps=8, dest=tmp_path / "x.mp4")
    assert not list(tmp_path.iterdir())
