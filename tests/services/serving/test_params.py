"""resolve_params, load_image and ModelDefaults: every bad value is named in the error."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from services.serving.errors import InvalidImageError, InvalidParameterError, PayloadTooLargeError
from services.serving.params import JobRequest, Limits, ModelDefaults, load_image, resolve_params

DEFAULTS = ModelDefaults(height=64, width=96, num_frames=4, fps=6, num_inference_steps=30)
LIMITS = Limits(max_frames=8, max_steps=20, max_side=256)


def test_defaults_fill_in_and_are_clamped_to_limits() -> None:
    p = resolve_params(JobRequest(seed=5), DEFAULTS, LIMITS)
    assert (p.height, p.width, p.num_frames, p.fps, p.seed) == (64, 96, 4, 6, 5)
    assert p.num_inference_steps == 20  # model default 30 > max_steps
    assert (p.motion_bucket_id, p.noise_aug_strength, p.min_guidance_scale, p.max_guidance_scale) == (
        127, 0.02, 1.0, 3.0,
    )
    seeds = {resolve_params(JobRequest(), DEFAULTS, LIMITS).seed for _ in range(5)}
    assert len(seeds) > 1  # default seed is random (and recorded in the params)


def test_explicit_values_win() -> None:
    req = JobRequest(fps=24, motion_bucket_id=0, num_frames=8, num_inference_steps=1, seed=0,
                     height=256, width=16, noise_aug_strength=1.0, min_guidance_scale=2, max_guidance_scale=2)
    p = resolve_params(req, DEFAULTS, LIMITS)
    assert p.to_dict() == {
        "height": 256, "width": 16, "num_frames": 8, "num_inference_steps": 1, "fps": 24,
        "motion_bucket_id": 0, "noise_aug_strength": 1.0, "min_guidance_scale": 2,
        "max_guidance_scale": 2, "seed": 0,
    }


@pytest.mark.parametrize(
    ("req", "message"),
    [
        (JobRequest(fps=0), "fps=0 is out of range 1..60"),
        (JobRequest(fps=61), "fps=61"),
        (JobRequest(motion_bucket_id=256), "motion_bucket_id=256 is out of range 0..255"),
        (JobRequest(num_frames=9), "num_frames=9 is out of range 2..8"),
        (JobRequest(num_frames=1), "num_frames=1"),
        (JobRequest(num_inference_steps=0), "num_inference_steps=0 is out of range 1..20"),
        (JobRequest(height=60), "height=60 must be a multiple of 8"),
        (JobRequest(width=264), "width=264 is out of range 16..256"),
        (JobRequest(seed=-1), "seed=-1"),
        (JobRequest(seed=2**32), "seed=4294967296"),
        (JobRequest(noise_aug_strength=1.5), "noise_aug_strength=1.5"),
        (JobRequest(min_guidance_scale=4.0), "min_guidance_scale=4.0 exceeds max_guidance_scale=3.0"),
    ],
)
def test_out_of_range_values_are_named(req: JobRequest, message: str) -> None:
    with pytest.raises(InvalidParameterError) as exc:
        resolve_params(req, DEFAULTS, LIMITS)
    assert message in exc.value.message
    assert exc.value.http_status == 422 and isinstance(exc.value, ValueError)


def test_load_image_accepts_png_and_jpeg(png: Callable[..., bytes]) -> None:
    for fmt in ("PNG", "JPEG"):
        img = load_image(png(size=(40, 24), fmt=fmt), max_bytes=1 << 20)
        assert (img.mode, img.size) == ("RGB", (40, 24))


@pytest.mark.parametrize(
    ("data", "error", "match"),
    [
        (b"", InvalidImageError, "empty"),
        (b"definitely not an image", InvalidImageError, "not a readable PNG/JPEG"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, InvalidImageError, "not a readable PNG/JPEG"),
    ],
)
def test_load_image_rejects_garbage(data: bytes, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        load_image(data, max_bytes=1 << 20)


def test_load_image_rejects_other_formats_and_oversize(png: Callable[..., bytes]) -> None:
    with pytest.raises(InvalidImageError, match="format GIF is not accepted"):
        load_image(png(fmt="GIF"), max_bytes=1 << 20)
    data = png()
    with pytest.raises(PayloadTooLargeError, match=f"{len(data)} bytes; the limit is 100"):
        load_image(data, max_bytes=100)


def test_model_defaults_from_json_ignores_junk() -> None:
    d = ModelDefaults.from_json({"height": 320, "fps": 8.0, "width": "wide", "num_frames": True, "x": 1})
    assert d == ModelDefaults(height=320, fps=8)
