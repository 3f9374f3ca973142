"""generate_frames on the tiny pipeline; encode_mp4 (with metadata) and frames_zip round trip."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from PIL import Image

from services.serving.generate import (
    GenerationParams,
    encode_mp4,
    frames_zip,
    generate_frames,
    mp4_metadata,
)

if TYPE_CHECKING:
    from services.serving.loader import LoadedModel


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


class _StopError(Exception):
    pass


def test_an_exception_from_on_step_stops_the_generation(tiny_model: LoadedModel, png: Callable[..., bytes]) -> None:
    image = Image.open(io.BytesIO(png())).convert("RGB")

    def stop(step: int) -> None:
        raise _StopError(f"step {step}")

    with pytest.raises(_StopError, match="step 1"):
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


def test_mp4_carries_the_jobs_facts_as_metadata(tmp_path: Path) -> None:
    import av

    facts = {"job_id": "job-1", "model_name": "m", "model_version": 3, "model_sha256": "ab" * 32,
             "params": {"seed": 1}}
    path = encode_mp4(np.zeros((2, 16, 16, 3), np.uint8), 6, tmp_path / "a.mp4", mp4_metadata(facts))
    with av.open(str(path)) as c:
        meta = c.metadata
    assert (meta["vidforge_model_name"], meta["vidforge_model_version"], meta["vidforge_model_sha256"]) == (
        "m", "3", "ab" * 32)
    assert json.loads(meta["comment"]) == facts and json.loads(meta["vidforge_params"]) == {"seed": 1}


def test_frames_zip_holds_lossless_pngs_and_the_facts() -> None:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (3, 8, 12, 3), dtype=np.uint8)
    with zipfile.ZipFile(io.BytesIO(frames_zip(frames, {"job_id": "job-1"}))) as zf:
        names = zf.namelist()
        decoded = [np.asarray(Image.open(io.BytesIO(zf.read(n)))) for n in names[:3]]
        meta = json.loads(zf.read("job.json"))
    assert names == ["frame_00000.png", "frame_00001.png", "frame_00002.png", "job.json"]
    np.testing.assert_array_equal(np.stack(decoded), frames)
    assert meta == {"job_id": "job-1"}


def test_params_round_trip_through_their_dict() -> None:
    p = _params(seed=9)
    assert GenerationParams.from_dict(p.to_dict()) == p
