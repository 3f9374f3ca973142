"""Upload images: refused from the header alone (huge, tiny, bombs), else decoded once and resized."""

from __future__ import annotations

import io
import time
from collections.abc import Callable

import pytest
from PIL import Image

from services.serving.errors import InvalidImageError, PayloadTooLargeError
from services.serving.images import ImageBounds, check, decode_png, prepare, probe
from tests.services.serving.bombs import bomb_png, peak_rss_mb, reset_peak_rss, zero_png

BOUNDS = ImageBounds(max_bytes=1 << 20, min_side=16, max_pixels=1024 * 1024)
#: The stated bound on extra peak memory while refusing hostile images (MiB).
REFUSAL_RSS_BOUND_MB = 32


def test_bounds_follow_the_model() -> None:
    svd = ImageBounds.for_model(10, 64, 0, (576, 1024), 8)
    assert (svd.min_side, svd.max_pixels) == (64, 16 * 576 * 1024)  # 9.4 MP for SVD's resolution
    tiny = ImageBounds.for_model(10, 1, 0, (64, 64), 2)
    assert (tiny.min_side, tiny.max_pixels) == (2, 1024 * 1024)  # the side never below the latent factor
    assert ImageBounds.for_model(10, 64, 5000, (576, 1024), 8).max_pixels == 5000


def test_probe_reads_format_and_size(png: Callable[..., bytes]) -> None:
    for fmt in ("PNG", "JPEG"):
        header = probe(png(size=(40, 24), fmt=fmt))
        assert (header.format, header.width, header.height) == (fmt, 40, 24)


@pytest.mark.parametrize(
    ("data", "match"),
    [(b"", "empty"), (b"hello, not an image", "not a readable PNG/JPEG"),
     (b"\x89PNG\r\n\x1a\n" + b"\0" * 8, "no valid IHDR")],
)
def test_probe_refuses_garbage(data: bytes, match: str) -> None:
    with pytest.raises(InvalidImageError, match=match):
        probe(data)


def test_other_formats_and_oversize_files_are_refused(png: Callable[..., bytes]) -> None:
    with pytest.raises(InvalidImageError, match="GIF is not accepted"):
        probe(png(fmt="GIF"))
    with pytest.raises(PayloadTooLargeError, match="the limit is 100"):
        prepare(png(), ImageBounds(100, 16, 1 << 20), (32, 32))


@pytest.mark.parametrize(("size", "match"), [((1, 500), "1x500; each side must be at least 16"),
                                             ((500, 8), "500x8; each side must be at least 16"),
                                             ((2048, 1024), "2097152 pixels; at most 1048576")])
def test_sides_and_pixels_are_bounded_from_the_header(size: tuple[int, int], match: str) -> None:
    data = zero_png(*size)
    with pytest.raises(InvalidImageError, match=match):
        check(probe(data), BOUNDS)
    with pytest.raises(InvalidImageError, match=match):
        prepare(data, BOUNDS, (32, 32))


def test_prepare_resizes_to_the_job_resolution(png: Callable[..., bytes]) -> None:
    for fmt in ("PNG", "JPEG"):
        out = prepare(png(size=(640, 400), fmt=fmt), BOUNDS, (96, 64))
        img = decode_png(out)
        assert (img.mode, img.size) == ("RGB", (96, 64))
        assert Image.open(io.BytesIO(out)).format == "PNG"
    rgba = io.BytesIO()
    Image.new("RGBA", (20, 20), (10, 20, 30, 0)).save(rgba, format="PNG")
    assert decode_png(prepare(rgba.getvalue(), BOUNDS, (16, 16))).getpixel((0, 0)) == (10, 20, 30)


@pytest.mark.parametrize("name", ["8000x8000", "bomb"])
def test_hostile_pngs_are_refused_fast_within_a_memory_bound(name: str) -> None:
    data = zero_png(8000, 8000) if name == "8000x8000" else bomb_png()
    assert len(data) < 400_000  # tiny files: the threat is the decoded size
    bounds = ImageBounds(max_bytes=20 << 20, min_side=64, max_pixels=16 * 576 * 1024)
    measured = reset_peak_rss()
    before = peak_rss_mb()
    started = time.perf_counter()
    with pytest.raises(InvalidImageError, match="pixels; at most"):
        prepare(data, bounds, (1024, 576))
    assert time.perf_counter() - started < 0.5
    if measured:
        assert peak_rss_mb() - before < REFUSAL_RSS_BOUND_MB
