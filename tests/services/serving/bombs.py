"""Hostile PNGs built without holding their pixels, and peak-RSS measurement (Linux ``/proc``)."""

from __future__ import annotations

import struct
import zlib
from functools import cache
from pathlib import Path


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


@cache
def zero_png(width: int, height: int, color_type: int = 2, bit_depth: int = 8) -> bytes:
    """A valid all-zero PNG of ``width`` x ``height``, compressed row by row (never materialised)."""
    channels = {0: 1, 2: 3, 6: 4}[color_type]
    row = b"\0" * (1 + (width * channels * bit_depth + 7) // 8)
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def bomb_png() -> bytes:
    """A decompression bomb: 30000 x 30000 1-bit grayscale, ~110 KB, 2.7 GB once converted to RGB."""
    return zero_png(30000, 30000, color_type=0, bit_depth=1)


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS (``VmHWM``); False where the kernel does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    """This process's peak RSS since the last reset, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def rss_mb() -> float:
    """This process's current RSS, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")
