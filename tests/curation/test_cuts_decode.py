"""Tests of :mod:`curation.decode` (the low-resolution decode the cut detectors share)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from curation.decode import decode_lowres
from curation.synthetic import GroundTruth


def test_decodes_every_frame_once_at_the_requested_size(demo_by_name: dict[str, GroundTruth]) -> None:
    truth = demo_by_name["cuts"]
    video = decode_lowres(truth.path)
    assert video.frames.shape == (truth.num_frames, 27, 48, 3)
    assert video.frames.dtype == np.uint8
    assert video.num_frames == truth.num_frames
    assert video.fps == truth.fps
    assert video.source_size == (truth.width, truth.height)
    assert decode_lowres(truth.path, size=(64, 36), fast=False).frames.shape[1:] == (36, 64, 3)


def test_fast_decoding_is_close_to_exact_decoding(bikes: Path) -> None:
    fast = decode_lowres(bikes).frames.astype(np.int16)
    exact = decode_lowres(bikes, fast=False).frames.astype(np.int16)
    assert np.abs(fast - exact).mean() < 2.0


def test_unreadable_file_raises(tmp_path: Path) -> None:
    bad = tmp_path / "x.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(av.error.FFmpegError):
        decode_lowres(bad)
