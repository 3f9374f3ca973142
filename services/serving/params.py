"""Validate a job request against the model's defaults and the service's limits.

Everything a client sends is checked here, before a job exists, and each
failure names the offending value (``num_frames=40 is out of range 1..32``).
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass, replace
from typing import Any

from services.serving.errors import InvalidImageError, InvalidParameterError, PayloadTooLargeError
from services.serving.generate import GenerationParams

#: Image formats accepted as conditioning frames (PIL format names).
IMAGE_FORMATS = ("PNG", "JPEG")
#: Largest decoded image, in pixels (guards against decompression bombs).
MAX_IMAGE_PIXELS = 64 * 1024 * 1024
SEED_MAX = 2**32 - 1
#: Fewest frames per clip. At 1 frame the SVD pipeline's per-frame guidance
#: ramp (linspace(min, max, 1) = [min]) disables classifier-free guidance after
#: the image latents were already doubled for it, and the UNet call fails.
MIN_FRAMES = 2


@dataclass(frozen=True)
class ModelDefaults:
    """Request defaults of a model version (from its ``vidforge.json`` when present)."""

    height: int = 576
    width: int = 1024
    num_frames: int = 14
    fps: int = 7
    num_inference_steps: int = 25

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelDefaults:
        """Defaults from a parsed ``vidforge.json``; missing or non-int keys keep the class defaults."""
        picked = {
            k: int(data[k])
            for k in ("height", "width", "num_frames", "fps", "num_inference_steps")
            if isinstance(data.get(k), int | float) and not isinstance(data.get(k), bool)
        }
        return replace(cls(), **picked)


@dataclass(frozen=True)
class Limits:
    """Upper bounds the service enforces (from ``settings.serving``)."""

    max_frames: int
    max_steps: int
    max_side: int
    min_side: int = 16


@dataclass(frozen=True)
class JobRequest:
    """What a client asked for; ``None`` means "use the default"."""

    fps: int | None = None
    motion_bucket_id: int | None = None
    num_frames: int | None = None
    num_inference_steps: int | None = None
    seed: int | None = None
    height: int | None = None
    width: int | None = None
    noise_aug_strength: float | None = None
    min_guidance_scale: float | None = None
    max_guidance_scale: float | None = None


def _check_range(name: str, value: float, lo: float, hi: float) -> None:
    if not lo <= value <= hi:
        raise InvalidParameterError(f"{name}={value} is out of range {lo}..{hi}")


def _side(name: str, value: int, limits: Limits) -> int:
    _check_range(name, value, limits.min_side, limits.max_side)
    if value % 8:
        raise InvalidParameterError(f"{name}={value} must be a multiple of 8")
    return value


def resolve_params(req: JobRequest, defaults: ModelDefaults, limits: Limits) -> GenerationParams:
    """Fill defaults into ``req`` and check every value.

    Raises:
        InvalidParameterError: a value is out of range (the message names it).
    """

    def pick(value: Any, default: Any) -> Any:
        return default if value is None else value

    params = GenerationParams(
        height=pick(req.height, defaults.height),
        width=pick(req.width, defaults.width),
        num_frames=pick(req.num_frames, min(defaults.num_frames, limits.max_frames)),
        num_inference_steps=pick(
            req.num_inference_steps, min(defaults.num_inference_steps, limits.max_steps)
        ),
        fps=pick(req.fps, defaults.fps),
        motion_bucket_id=pick(req.motion_bucket_id, 127),
        noise_aug_strength=pick(req.noise_aug_strength, 0.02),
        min_guidance_scale=pick(req.min_guidance_scale, 1.0),
        max_guidance_scale=pick(req.max_guidance_scale, 3.0),
        seed=pick(req.seed, secrets.randbelow(SEED_MAX + 1)),
    )
    _side("height", params.height, limits)
    _side("width", params.width, limits)
    _check_range("num_frames", params.num_frames, MIN_FRAMES, limits.max_frames)
    _check_range("num_inference_steps", params.num_inference_steps, 1, limits.max_steps)
    _check_range("fps", params.fps, 1, 60)
    _check_range("motion_bucket_id", params.motion_bucket_id, 0, 255)
    _check_range("noise_aug_strength", params.noise_aug_strength, 0.0, 1.0)
    _check_range("min_guidance_scale", params.min_guidance_scale, 0.0, 20.0)
    _check_range("max_guidance_scale", params.max_guidance_scale, 0.0, 20.0)
    _check_range("seed", params.seed, 0, SEED_MAX)
    if params.min_guidance_scale > params.max_guidance_scale:
        raise InvalidParameterError(
            f"min_guidance_scale={params.min_guidance_scale} exceeds "
            f"max_guidance_scale={params.max_guidance_scale}"
        )
    return params


def load_image(data: bytes, max_bytes: int) -> Any:
    """Decode an uploaded PNG/JPEG into an RGB ``PIL.Image``.

    Raises:
        PayloadTooLargeError: more than ``max_bytes`` bytes.
        InvalidImageError: empty, not decodable, not PNG/JPEG, or too many pixels.
    """
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise InvalidImageError("the uploaded image file is empty")
    if len(data) > max_bytes:
        raise PayloadTooLargeError(f"image is {len(data)} bytes; the limit is {max_bytes}")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt, (w, h) = probe.format, probe.size
            probe.verify()
        if fmt not in IMAGE_FORMATS:
            raise InvalidImageError(f"image format {fmt} is not accepted; send PNG or JPEG")
        if w * h > MAX_IMAGE_PIXELS:
            raise InvalidImageError(f"image is {w}x{h}; at most {MAX_IMAGE_PIXELS} pixels are accepted")
        with Image.open(io.BytesIO(data)) as img:
            return img.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise InvalidImageError(f"the uploaded file is not a readable PNG/JPEG image ({e})") from e
