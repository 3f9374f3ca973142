"""Tests of :mod:`curation.media.decode` (the low-resolution decode the cut detectors share)."""

from __future__ import annotations

import itertools
from pathlib import Path

import av
import numpy as np
import pytest

from curation.media import decode as decode_module
from curation.media.decode import MAX_SEGMENT_WORKERS, Segment, available_cpus, decode_lowres, plan_segments
from curation.oddinputs import SHOT_FRAMES, SHOTS, OddInput, odd_input_names
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


def _write_h264(path: Path, frames: int, x264_params: str, size: tuple[int, int] = (96, 64)) -> Path:
    """A moving-gradient H.264 video with the given x264 GOP settings (container from the suffix)."""
    width, height = size
    yy, xx = np.mgrid[0:height, 0:width]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "veryfast", "x264-params": x264_params}
        for i in range(frames):
            img = np.stack([(xx * 2 + i * 5) % 256, (yy * 3 + i * 7) % 256, (xx + yy + i * 11) % 256], axis=-1)
            frame = av.VideoFrame.from_ndarray(img.astype(np.uint8), format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("closed.mp4", "keyint=24:min-keyint=24:scenecut=0:bframes=3"),
        ("open.mp4", "keyint=24:min-keyint=24:scenecut=0:bframes=3:open-gop=1"),
        ("closed.mkv", "keyint=24:min-keyint=24:scenecut=0:bframes=2"),
    ],
)
def test_parallel_segments_give_exactly_the_sequential_frames(
    tmp_path: Path, name: str, params: str, decode_calls: list[Segment | None]
) -> None:
    path = _write_h264(tmp_path / name, 240, params)
    sequential = decode_lowres(path, threads=1).frames
    for threads in (2, 3):
        decode_calls.clear()
        parallel = decode_lowres(path, threads=threads).frames
        assert len(decode_calls) >= threads and None not in decode_calls  # segments only, no fallback
        assert parallel.shape == sequential.shape == (240, 27, 48, 3)
        assert np.array_equal(parallel, sequential)


def test_parallel_decoding_of_bikes_is_bit_identical(bikes: Path, decode_calls: list[Segment | None]) -> None:
    sequential = decode_lowres(bikes, threads=1).frames
    decode_calls.clear()
    assert np.array_equal(decode_lowres(bikes, threads=2).frames, sequential)
    assert len(decode_calls) >= 3 and None not in decode_calls  # split at the keyframes x264 put at its cuts


def test_plan_segments_cuts_at_keyframes_into_even_shares() -> None:
    # 200 frames in display order, keyframes every 20; B-frame reordering in decoding order.
    packets = [(pts, pts % 20 == 0) for pts in range(200)]
    packets[1:3] = [(2, False), (1, False)]
    segments = plan_segments(packets, 4, min_frames=32)
    assert segments[0].start is None and segments[-1].end is None
    assert all(s.start % 20 == 0 for s in segments[1:])
    assert all(a.end == b.start for a, b in itertools.pairwise(segments))
    assert sum(s.frames for s in segments) == 200
    assert all(s.frames >= 32 for s in segments)


@pytest.mark.parametrize(
    "packets",
    [
        [(pts, pts == 0) for pts in range(200)],  # one keyframe: nothing to split at
        [(pts, True) for pts in range(40)],  # too short for two segments of 32 frames
        [(None, True), *[(pts, True) for pts in range(1, 200)]],  # a packet without a timestamp
        [(pts // 2, True) for pts in range(200)],  # repeated timestamps
    ],
)
def test_plan_segments_declines_what_cannot_be_split(packets: list[tuple[int | None, bool]]) -> None:
    assert plan_segments(packets, 4, min_frames=32) == []


def test_many_threads_use_one_decoder_with_ffmpeg_threads(tmp_path: Path, decode_calls: list[Segment | None]) -> None:
    path = _write_h264(tmp_path / "v.mp4", 240, "keyint=24:min-keyint=24:scenecut=0")
    sequential = decode_lowres(path, threads=1).frames
    decode_calls.clear()
    assert np.array_equal(decode_lowres(path, threads=MAX_SEGMENT_WORKERS + 1).frames, sequential)
    assert decode_calls == [None]


def test_inexact_seeking_falls_back_to_the_sequential_frames(
    tmp_path: Path, decode_calls: list[Segment | None]
) -> None:
    # MPEG-TS seeks by byte position: a seek lands a few packets past the keyframe asked for.
    path = _write_h264(tmp_path / "v.ts", 240, "keyint=30:min-keyint=30:scenecut=0:bframes=2")
    sequential = decode_lowres(path, threads=1).frames
    decode_calls.clear()
    assert np.array_equal(decode_lowres(path, threads=2).frames, sequential)
    assert decode_calls[-1] is None and len(decode_calls) > 1


@pytest.fixture
def decode_calls(monkeypatch: pytest.MonkeyPatch) -> list[Segment | None]:
    """The segment of every decoding pass (``None``: the whole stream in one pass)."""
    calls: list[Segment | None] = []
    real = decode_module._decode

    def recorded(
        path: str, size: tuple[int, int], fast: bool, threads: int = 1, segment: Segment | None = None
    ) -> list:
        calls.append(segment)
        return real(path, size, fast, threads, segment)

    monkeypatch.setattr(decode_module, "_decode", recorded)
    return calls


def test_a_segment_short_of_frames_falls_back_to_one_sequential_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write_h264(tmp_path / "v.mp4", 120, "keyint=24:min-keyint=24:scenecut=0")
    expected = decode_lowres(path, threads=1).frames
    real = decode_module._decode
    calls: list[Segment | None] = []

    def lossy(path: str, size: tuple[int, int], fast: bool, threads: int = 1, segment: Segment | None = None) -> list:
        calls.append(segment)
        frames = real(path, size, fast, threads, segment)
        return frames[:-1] if segment is not None and segment.start is not None else frames  # a frame goes missing

    monkeypatch.setattr(decode_module, "_decode", lossy)
    assert np.array_equal(decode_lowres(path, threads=2).frames, expected)
    assert calls[-1] is None and any(c is not None for c in calls)  # segments tried, then one whole pass


def test_available_cpus_honours_omp_num_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert available_cpus() == 1
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert available_cpus() >= 1


@pytest.mark.parametrize("name", odd_input_names(seekless=True))
def test_a_file_without_a_seek_index_decodes_like_its_seekable_copy(
    odd_inputs: dict[str, OddInput], seekable_copies: dict[str, Path], name: str,
    decode_calls: list[Segment | None],
) -> None:
    expected = decode_lowres(seekable_copies[name], threads=2).frames
    assert len(expected) == SHOTS * SHOT_FRAMES
    decode_calls.clear()
    assert np.array_equal(decode_lowres(odd_inputs[name].path, threads=2).frames, expected)
    if name in ("mkv_no_cues", "webm_no_cues"):  # the trial seek fails: one pass, no segment tried
        assert decode_calls == [None]


def test_a_segment_whose_seek_fails_falls_back_to_one_sequential_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, decode_calls: list[Segment | None]
) -> None:
    path = _write_h264(tmp_path / "v.mp4", 240, "keyint=24:min-keyint=24:scenecut=0")
    expected = decode_lowres(path, threads=1).frames
    real = decode_module.seek_keyframe
    seeks: list[int] = []

    def refused_after_the_trial(container: object, stream: object, pts: int) -> bool:
        seeks.append(pts)
        return len(seeks) == 1 and real(container, stream, pts)  # type: ignore[arg-type]

    monkeypatch.setattr(decode_module, "seek_keyframe", refused_after_the_trial)
    decode_calls.clear()
    assert np.array_equal(decode_lowres(path, threads=2).frames, expected)
    assert len(seeks) > 1 and decode_calls[-1] is None and any(c is not None for c in decode_calls)
