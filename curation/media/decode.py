"""Decode a video once, at low resolution, into one numpy array.

FFmpeg scales each frame as it is decoded (``swscale``, one reused scaler
context per decoder), so only tiny RGB frames are ever held. Every consumer
(the cut cascade, TransNetV2) reads the same array.

**Parallel decoding.** With 2 to :data:`MAX_SEGMENT_WORKERS` threads the video is
split at keyframes (points where decoding can start) into segments that a
thread pool decodes independently, each segment single-threaded; PyAV releases
the GIL while decoding and scaling, so decoding *and* scaling spread over the
cores (with FFmpeg's frame threads, scaling stays on one thread). The segments
are planned from one demux pass (packets only, nothing decoded): boundaries sit
at the keyframes nearest to equal shares of the frames. Every segment must yield
exactly the frames whose timestamps fall in it; if one does not (a damaged
file, a container whose seeking is inexact, such as MPEG-TS, or a file FFmpeg
cannot seek in at all, see :mod:`curation.media.seeking`), the whole video is decoded
again in one sequential pass, so the result is always the frames a sequential
decode gives, in presentation order. A file that refuses a trial seek to the
second segment's keyframe is decoded in one pass from the start. With more threads, or a video
too short or with too few keyframes to split, one decoder runs with FFmpeg's
frame + slice threads.
"""

from __future__ import annotations

import bisect
import itertools
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from curation.media.seeking import seek_keyframe

#: TransNetV2's input size (width, height); also the default analysis size of the cut detectors.
TRANSNET_SIZE = (48, 27)

#: swscale interpolation: area averaging is cheaper than bilinear for large reductions and does not alias.
INTERPOLATION = "AREA"

#: Fewest frames in a parallel segment (opening and seeking a segment costs about as much as decoding ~20 small frames).
MIN_SEGMENT_FRAMES = 32

#: Segments per worker thread: more, smaller segments even out the load when keyframes are unevenly spaced.
SEGMENTS_PER_WORKER = 2

#: Most threads for parallel segments. PyAV holds the GIL for part of every frame, so beyond a few
#: threads they queue on it: with more, one decoder with FFmpeg's frame + slice threads is faster
#: (bench/cuts.py and 4-16-CPU runs: see the README).
MAX_SEGMENT_WORKERS = 4


@dataclass(frozen=True)
class LowResVideo:
    """A decoded low-resolution video.

    Attributes:
        frames: ``uint8`` array of shape ``(num_frames, height, width, 3)``, RGB.
        fps: the stream's average frame rate (frames/s; 0.0 when unknown).
        source_size: ``(width, height)`` of the coded video in pixels.
    """

    frames: np.ndarray
    fps: float
    source_size: tuple[int, int]

    @property
    def num_frames(self) -> int:
        """Number of decoded frames."""
        return int(self.frames.shape[0])


@dataclass(frozen=True)
class Segment:
    """Frames ``start <= pts < end`` of a stream, decodable from the keyframe at ``start``.

    ``None`` bounds are the stream's start and end; ``frames`` is how many frames the
    demuxed packets promise in the segment.
    """

    start: int | None
    end: int | None
    frames: int


def available_cpus() -> int:
    """CPUs this process may use: its CPU affinity, capped by ``OMP_NUM_THREADS`` when set.

    Ray sets ``OMP_NUM_THREADS`` to a task's or actor's ``num_cpus``, so a Ray worker
    decodes on the CPUs it was given, not on the whole node.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    omp = os.environ.get("OMP_NUM_THREADS", "")
    if omp.isdigit() and int(omp) > 0:
        cpus = min(cpus, int(omp))
    return max(1, cpus)


def plan_segments(
    packets: list[tuple[int | None, bool]], parts: int, min_frames: int = MIN_SEGMENT_FRAMES
) -> list[Segment]:
    """Split a stream into at most ``parts`` keyframe-aligned segments of ≥ ``min_frames`` frames.

    Args:
        packets: ``(pts, is_keyframe)`` of every video packet, in decoding order.
        parts: the most segments wanted.
        min_frames: the fewest frames in a segment.

    Returns:
        Segments in presentation order covering every frame, or ``[]`` when the stream
        cannot be split (fewer than two segments fit, timestamps missing or repeated).
    """
    order = sorted(pts for pts, _ in packets if pts is not None)
    n = len(order)
    if len(order) != len(packets) or len(set(order)) != n or parts < 2 or n < 2 * min_frames:
        return []
    rank = {pts: i for i, pts in enumerate(order)}
    keys = sorted(rank[pts] for pts, key in packets if key)
    count = min(parts, n // min_frames)
    bounds = [0]
    for i in range(1, count):
        target = n * i / count
        at = bisect.bisect_left(keys, target)
        near = min(keys[max(at - 1, 0) : at + 1], key=lambda k: abs(k - target), default=0)
        if near - bounds[-1] >= min_frames and n - near >= min_frames:
            bounds.append(near)
    bounds.append(n)
    if len(bounds) < 3:
        return []
    return [Segment(order[a] if a else None, order[b] if b < n else None, b - a) for a, b in itertools.pairwise(bounds)]


def _configure(stream: av.video.stream.VideoStream, threads: int, fast: bool) -> None:
    """Decoder threads (1 = none, 0 = FFmpeg's choice of frame + slice threads) and the fast flags."""
    ctx = stream.codec_context
    if threads != 1:
        stream.thread_type = "AUTO"
    ctx.thread_count = threads
    if fast:
        ctx.options = {"skip_loop_filter": "all", "flags2": "+fast"}


def _decode(
    path: str, size: tuple[int, int], fast: bool, threads: int = 1, segment: Segment | None = None
) -> list[np.ndarray]:
    """The frames of ``segment`` (default: the whole stream), scaled to ``size`` RGB, in presentation order."""
    width, height = size
    start, end = (segment.start, segment.end) if segment else (None, None)
    out: list[np.ndarray] = []
    with av.open(path) as container:
        stream = container.streams.video[0]
        _configure(stream, threads, fast)
        if start is not None and not seek_keyframe(container, stream, start):  # the keyframe at ``start``
            return []  # no index to seek with: coming back short makes the caller decode in one pass
        scaler = VideoReformatter()  # one scaler context, reused across frames
        for frame in container.decode(stream):
            if segment is not None and frame.pts is None:
                return []  # cannot be placed in the segment: coming back short makes the caller decode in one pass
            if end is not None and frame.pts >= end:
                break
            if start is None or frame.pts >= start:  # drops leading pictures of an open GOP
                out.append(scaler.reformat(frame, width, height, "rgb24", interpolation=INTERPOLATION).to_ndarray())
    return out


def _decode_parallel(
    path: str, segments: list[Segment], size: tuple[int, int], fast: bool, workers: int
) -> list[np.ndarray] | None:
    """Every segment decoded single-threaded on a pool of ``workers``; ``None`` when one misses promised frames."""
    with ThreadPoolExecutor(workers, thread_name_prefix="decode") as pool:
        parts = list(pool.map(partial(_decode, path, size, fast, 1), segments))
    if any(len(part) != seg.frames for part, seg in zip(parts, segments, strict=True)):
        return None
    return [frame for part in parts for frame in part]


def decode_lowres(
    path: str | Path, size: tuple[int, int] = TRANSNET_SIZE, threads: int = 0, fast: bool = True
) -> LowResVideo:
    """Decode every frame of the first video stream of ``path`` at ``size``.

    Each frame is scaled (area averaging) and converted to RGB by FFmpeg's
    ``swscale`` as it is decoded, so only small frames are ever held: an hour at
    48×27 is ~350 MB. (Copying the YUV planes out and scaling many frames per cv2
    call was measured slower.)

    Args:
        path: a local video file.
        size: output ``(width, height)`` in pixels; aspect ratio is not preserved
            (cut statistics do not need it, and TransNetV2 expects exactly 48×27).
        threads: decoding threads (0 = :func:`available_cpus`; 1 = one thread, no
            FFmpeg threads; 2 to :data:`MAX_SEGMENT_WORKERS`: keyframe-aligned
            segments decoded in parallel, see the module docstring; more: FFmpeg's
            frame + slice threads).
        fast: skip the in-loop deblocking filter and allow non-spec-compliant
            speedups (``skip_loop_filter=all``, ``flags2=+fast``): faster
            decoding; the blocking it leaves is invisible after downscaling.

    Returns:
        The frames in presentation order as one RGB array (see :class:`LowResVideo`).

    Raises:
        av.error.FFmpegError: the file cannot be opened or decoded (e.g. ``InvalidDataError``).
        ValueError: the file has no video stream.
    """
    width, height = size
    threads = threads or available_cpus()
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise ValueError(f"no video stream in {path}")
        stream = container.streams.video[0]
        rate = stream.average_rate
        source_size = (int(stream.codec_context.width), int(stream.codec_context.height))
        segments = []
        if 1 < threads <= MAX_SEGMENT_WORKERS:  # one demux pass (no decoding) to find the keyframes
            packets = [(p.pts, p.is_keyframe) for p in container.demux(stream) if p.size]
            segments = plan_segments(packets, threads * SEGMENTS_PER_WORKER)
            if segments and not seek_keyframe(container, stream, int(segments[1].start or 0)):
                segments = []  # a file without a seek index: every segment would fail its seek
    frames = _decode_parallel(str(path), segments, size, fast, threads) if segments else None
    if frames is None:
        frames = _decode(str(path), size, fast, threads=threads)
    array = np.stack(frames) if frames else np.zeros((0, height, width, 3), np.uint8)
    return LowResVideo(array, float(rate) if rate else 0.0, source_size)
