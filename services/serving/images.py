"""Conditioning images: checked from their header before any pixel is decoded, then resized once.

An upload is refused by its header alone when it is not PNG/JPEG or its
declared size is outside the bounds — so an 8000×8000 PNG of 200 KB, or a
decompression bomb, costs a few hundred bytes of parsing, not gigabytes. An
accepted image is decoded (JPEGs at a reduced DCT scale when much larger than
needed), converted to RGB and resized to the job's resolution, and kept as a
PNG of that size: a queued job holds only that.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from services.serving.errors import InvalidImageError, PayloadTooLargeError

if TYPE_CHECKING:
    from PIL import Image

#: Image formats accepted as conditioning frames (PIL format names).
IMAGE_FORMATS = ("PNG", "JPEG")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: The smallest default bound on decoded pixels, whatever the model's resolution.
MIN_PIXEL_BOUND = 1024 * 1024
#: Default bound on decoded pixels, in multiples of the model's resolution.
PIXEL_BOUND_FACTOR = 16


@dataclass(frozen=True)
class ImageBounds:
    """What an upload must satisfy: file size, and each side / total pixels as declared in its header."""

    max_bytes: int
    min_side: int
    max_pixels: int

    @classmethod
    def for_model(
        cls, max_bytes: int, min_side: int, max_pixels: int, model_size: tuple[int, int], latent_factor: int
    ) -> ImageBounds:
        """Bounds for a model: ``min_side`` raised to the latent factor; ``max_pixels`` 0 → automatic.

        Args:
            max_bytes: largest file.
            min_side: configured smallest side (px).
            max_pixels: configured largest image (px); 0: ``PIXEL_BOUND_FACTOR`` times the
                model's ``(height, width)`` pixels, at least :data:`MIN_PIXEL_BOUND`.
            model_size: the model's default ``(height, width)``.
            latent_factor: the VAE's spatial down-sampling factor.
        """
        auto = max(PIXEL_BOUND_FACTOR * model_size[0] * model_size[1], MIN_PIXEL_BOUND)
        return cls(max_bytes, max(min_side, latent_factor), max_pixels or auto)


@dataclass(frozen=True)
class ImageHeader:
    """Format and declared size of an image, read without decoding pixels."""

    format: str
    width: int
    height: int


def _png_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` from the IHDR chunk that must follow the PNG signature; None if malformed."""
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def probe(data: bytes) -> ImageHeader:
    """Read format and size from the header (PIL parses headers lazily; PNG size straight from IHDR).

    Raises:
        InvalidImageError: empty, not PNG/JPEG, or an unreadable header.
    """
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise InvalidImageError("the uploaded image file is empty")
    if data.startswith(PNG_SIGNATURE):
        size = _png_size(data)
        if size is None:
            raise InvalidImageError("the uploaded PNG has no valid IHDR header")
        return ImageHeader("PNG", *size)
    try:
        with Image.open(io.BytesIO(data)) as img:  # reads markers up to the frame header only
            fmt, (width, height) = img.format or "", img.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise InvalidImageError(f"the uploaded file is not a readable PNG/JPEG image ({e})") from e
    if fmt not in IMAGE_FORMATS:
        raise InvalidImageError(f"image format {fmt} is not accepted; send PNG or JPEG")
    return ImageHeader(fmt, width, height)


def check(header: ImageHeader, bounds: ImageBounds) -> None:
    """Refuse a header outside ``bounds``. Raises InvalidImageError naming the size and the bound."""
    w, h = header.width, header.height
    if min(w, h) < bounds.min_side:
        raise InvalidImageError(f"image is {w}x{h}; each side must be at least {bounds.min_side} px")
    if w * h > bounds.max_pixels:
        raise InvalidImageError(f"image is {w}x{h} = {w * h} pixels; at most {bounds.max_pixels} are accepted")


def prepare(data: bytes, bounds: ImageBounds, size: tuple[int, int]) -> bytes:
    """Check, decode and resize an upload to ``size`` = ``(width, height)``; return it as PNG bytes.

    Raises:
        PayloadTooLargeError: more than ``bounds.max_bytes`` bytes.
        InvalidImageError: see :func:`probe` and :func:`check`; or the pixels do not decode.
    """
    from PIL import Image

    if len(data) > bounds.max_bytes:
        raise PayloadTooLargeError(f"image is {len(data)} bytes; the limit is {bounds.max_bytes}")
    header = probe(data)
    check(header, bounds)
    try:
        with Image.open(io.BytesIO(data)) as img:
            if (img.width, img.height) != (header.width, header.height):
                raise InvalidImageError("the image's header and its decoder disagree on its size")
            if img.format == "JPEG":
                img.draft("RGB", size)  # decode at 1/2, 1/4 or 1/8 scale when that still covers size
            rgb = img.convert("RGB")
        resized = rgb if rgb.size == size else rgb.resize(size, Image.Resampling.BICUBIC, reducing_gap=3.0)
        out = io.BytesIO()
        resized.save(out, format="PNG", compress_level=1)
        return out.getvalue()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise InvalidImageError(f"the uploaded image does not decode ({e})") from e


def decode_png(png: bytes) -> Image.Image:
    """An RGB image from :func:`prepare`'s output (what a worker hands the pipeline)."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as img:
        return img.convert("RGB")
