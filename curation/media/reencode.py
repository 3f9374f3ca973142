"""Frame-exact clipping by re-encoding: decode a span and encode it as H.264 (libx264) in mp4.

Where stream copy (:mod:`curation.media.remux`) must start at a keyframe, a re-encoded
clip holds exactly frames ``[a, b)``: frame indices are those of
:class:`~curation.media.remux.PacketIndex` (display order of the video packets,
0-based, exclusive end), and a decoded frame is matched to its index by its
presentation timestamp, so the result does not depend on where the keyframes are.

What the clip keeps of the source:

- **timing**: each frame keeps its source timestamp (shifted so the first is 0) in
  the source's time base, so a variable-frame-rate span stays variable and the
  clip lasts ``index.seconds(b) - index.seconds(a)``;
- **geometry**: the coded size. libx264's 4:2:0 needs even sizes, so an odd-sized
  source is encoded as 4:4:4 (``yuv444p``, H.264 High 4:4:4) rather than padded or
  cropped: the manifest's ``width``/``height`` stay true. FFmpeg-based decoders
  (PyAV, the trainer) read it; some hardware decoders do not;
- **rotation**: the display matrix of the source's frames (a phone's portrait video
  stays portrait when shown).

Audio is not kept (neither does stream copy).
"""

from __future__ import annotations

import bisect
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import av
from av.video.frame import PictureType

from curation.media.seeking import seek_keyframe

if TYPE_CHECKING:
    from av.container import OutputContainer
    from av.video.stream import VideoStream

    from curation.media.remux import PacketIndex

#: Rate hint for the encoder when a span's timestamps give none (a single frame without a duration).
_FALLBACK_RATE = Fraction(24)


class BadSpanError(ValueError):
    """The requested span is empty or reaches outside the source's frames."""


def reencode_span(
    src: str | Path,
    dest: str | Path,
    index: PacketIndex,
    a: int,
    b: int,
    *,
    crf: int = 18,
    preset: str = "veryfast",
    threads: int = 1,
) -> None:
    """Write exactly frames ``[a, b)`` of ``src`` to the mp4 ``dest``, re-encoded with libx264.

    The decoder starts one keyframe before the last keyframe at or before ``a``
    (a demuxer that seeks by decode time, such as MPEG-TS, may land just after
    the keyframe asked for; an open GOP's leading pictures need the GOP before),
    and frames before ``a`` are decoded and dropped. Where the source cannot seek,
    or the seek lands past ``a``, it is decoded from the start instead
    (:mod:`curation.media.seeking`).

    Args:
        src: the source video.
        dest: the clip to write (parent directories are created).
        index: ``src``'s packet index (:func:`curation.media.remux.index_packets`).
        a: first frame, ``0 <= a < b``.
        b: end frame (exclusive), ``b <= index.num_frames``.
        crf: x264 constant rate factor, 0 (lossless) .. 51; 18 is visually near-lossless.
        preset: x264 speed preset (``ultrafast`` .. ``veryslow``).
        threads: encoder and decoder threads (0: FFmpeg's choice).

    Raises:
        BadSpanError: ``[a, b)`` is empty or not within ``[0, index.num_frames)``.
        ValueError: the decoder gave fewer than ``b - a`` of the frames (damaged source).
        av.FFmpegError: decoding or encoding failed.
    """
    if not 0 <= a < b <= index.num_frames:
        raise BadSpanError(f"{src}: span [{a}, {b}) is not within the source's {index.num_frames} frames")
    k = bisect.bisect_right(index.keyframes, a) - 1  # the keyframe at or before a (none: an open start)
    seek_to = index.pts[index.keyframes[k - 1]] if k >= 1 and index.keyframes[k - 1] > 0 else None
    Path(dest).parent.mkdir(parents=True, exist_ok=True)
    attempt = partial(_reencode_frames, src, dest, index, a, b, rate=index.rate(a, b) or _FALLBACK_RATE, crf=crf,
                      preset=preset, threads=threads)
    written = attempt(seek_to)
    if written != b - a and seek_to is not None:  # the seek failed or landed past ``a``: from the start
        written = attempt(None)
    if written != b - a:
        Path(dest).unlink(missing_ok=True)
        raise ValueError(f"{src}: decoded {written} of the {b - a} frames of [{a}, {b})")


def _reencode_frames(
    src: str | Path,
    dest: str | Path,
    index: PacketIndex,
    a: int,
    b: int,
    seek_to: int | None,
    *,
    rate: Fraction,
    crf: int,
    preset: str,
    threads: int,
) -> int:
    """Decode frames ``[a, b)`` of ``src`` (read from ``seek_to``, None: the start) and encode them to ``dest``
    at ``rate`` with ``crf``/``preset``/``threads``; return how many were written (0 when the seek failed,
    or when it landed past frame ``a``)."""
    wanted = set(index.pts[a:b])
    offset, last = index.pts[a], index.pts[b - 1]
    written = 0
    with av.open(str(src)) as inp, av.open(str(dest), "w") as out:
        in_stream = inp.streams.video[0]
        in_stream.codec_context.thread_count = threads
        time_base = in_stream.time_base or Fraction(1, 1)
        if seek_to is not None and not seek_keyframe(inp, in_stream, seek_to):
            return 0
        stream: VideoStream | None = None
        for frame in inp.decode(in_stream):
            if frame.pts is not None and frame.pts > last:
                break
            if frame.pts not in wanted:
                continue  # before the span, or a frame the index does not list
            if stream is None:
                if frame.pts != offset:
                    return 0  # landed past frame a
                stream = _add_stream(out, frame, rate, time_base, crf, preset, threads)
            frame.pts -= offset
            frame.time_base = time_base
            frame.pict_type = PictureType.NONE  # let x264 choose frame types, not copy the source's
            out.mux(stream.encode(frame))
            written += 1
            if written == b - a:
                break
        if stream is not None:
            out.mux(stream.encode(None))
    return written


def _add_stream(
    out: OutputContainer,
    first: av.VideoFrame,
    rate: Fraction,
    time_base: Fraction,
    crf: int,
    preset: str,
    threads: int,
) -> VideoStream:
    """The libx264 output stream for frames like ``first`` (size, rotation) timed in ``time_base``."""
    stream = out.add_stream("libx264", rate=rate.limit_denominator(1001))
    stream.width, stream.height = first.width, first.height
    stream.pix_fmt = "yuv420p" if first.width % 2 == 0 and first.height % 2 == 0 else "yuv444p"
    stream.codec_context.time_base = time_base
    stream.codec_context.thread_count = threads
    stream.options = {"crf": str(crf), "preset": preset}
    if first.rotation:
        stream.set_display_rotation(first.rotation)
    return stream
