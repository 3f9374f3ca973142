"""Stream-copy clipping with PyAV: cut at keyframes, never re-encode.

Frame indices are display-order positions of the video packets (0-based) and
spans are ``[start, end)``. A clip starts at a keyframe (closed GOPs assumed:
leading pictures before the keyframe are dropped) and ends at the last point
≤ the requested end where the packets copied so far decode on their own — with
B-frames a frame may reference a later one, so not every end is possible.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av

from curation.media.seeking import seek_keyframe


@dataclass(frozen=True)
class PacketIndex:
    """Where the frames of a video's first stream are.

    Attributes:
        pts: presentation timestamps in display order (``pts[i]`` is frame ``i``'s).
        decode_order: display index of each packet, in decode (file) order.
        keyframes: ascending display indices of keyframes.
        time_base: seconds per pts tick.
    """

    pts: list[int]
    decode_order: list[int]
    keyframes: list[int]
    time_base: Fraction

    @property
    def num_frames(self) -> int:
        """Number of frames (packets) in the stream."""
        return len(self.pts)

    def _end_pts(self, frame: int) -> int:
        """pts of frame ``frame``; for ``num_frames``, the end of the last frame (one frame step on)."""
        if frame < len(self.pts):
            return self.pts[frame]
        return self.pts[-1] + (self.pts[-1] - self.pts[-2] if len(self.pts) > 1 else 0)

    def seconds(self, frame: int) -> float:
        """Time of frame ``frame`` (may be ``num_frames``: the end of the last frame) from frame 0."""
        return float((self._end_pts(frame) - self.pts[0]) * self.time_base)

    def rate(self, a: int, b: int) -> Fraction | None:
        """Mean frame rate of frames ``[a, b)`` from their timestamps (None when they span no time).

        Exact for a constant-rate stream (the stream's rate); for a variable-rate
        one, the rate of just these frames.
        """
        ticks = self._end_pts(b) - self._end_pts(a)
        return Fraction(b - a) / (ticks * self.time_base) if ticks > 0 else None


def index_packets(path: str | Path) -> PacketIndex:
    """Demux (no decoding) the first video stream of ``path``.

    Raises:
        ValueError: a packet has no pts, or there is no video packet.
    """
    raw: list[tuple[int, bool]] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        time_base = stream.time_base or Fraction(1, 1)
        for packet in container.demux(stream):
            if not packet.size:
                continue
            if packet.pts is None:
                raise ValueError(f"{path}: packet without pts")
            raw.append((int(packet.pts), bool(packet.is_keyframe)))
    if not raw:
        raise ValueError(f"{path}: no video packets")
    pts = sorted(p for p, _ in raw)
    rank = {p: i for i, p in enumerate(pts)}
    decode_order = [rank[p] for p, _ in raw]
    keyframes = sorted(rank[p] for p, key in raw if key)
    return PacketIndex(pts, decode_order, keyframes, Fraction(time_base))


def plan_span(
    index: PacketIndex, start: int, end: int, snap: Literal["before", "after"] = "before", slack: int = 0
) -> tuple[int, int] | None:
    """The frames ``[a, b)`` a stream copy of ``[start, end)`` can write.

    ``a`` is the last keyframe at or before ``start + slack`` (``snap="before"``)
    or the first at or after ``start - slack`` (``"after"``): ``slack`` absorbs a
    cut detected a frame or two off the keyframe an encoder put at the real cut.
    ``b`` is the largest end ≤ ``end`` at which the packets of ``[a, b)`` are a
    decode-order run with all their references.

    Returns:
        ``(a, b)``, or None when no non-empty clip is possible.
    """
    if snap == "before":
        k = bisect.bisect_right(index.keyframes, start + slack) - 1
        if k < 0:
            return None
    else:
        k = bisect.bisect_left(index.keyframes, start - slack)
        if k >= len(index.keyframes):
            return None
    a = index.keyframes[k]
    first = index.decode_order.index(a)
    seen, top, best = 0, a - 1, a
    for frame in index.decode_order[first:]:
        if frame < a:
            continue  # leading picture of an open GOP: not decodable without the previous GOP
        seen += 1
        top = max(top, frame)
        if top + 1 > end:
            break
        if top - a + 1 == seen:  # frames a..top all present: a closed, decodable prefix
            best = top + 1
    return (a, best) if best > a else None


class UnsupportedCodecError(ValueError):
    """The destination container cannot hold the source's codec (stream copy cannot re-encode)."""


def copy_span(src: str | Path, dest: str | Path, index: PacketIndex, a: int, b: int) -> None:
    """Write frames ``[a, b)`` (from :func:`plan_span`) of ``src`` to ``dest`` by stream copy.

    Timestamps are shifted so the clip's first frame has pts 0. The source's
    display matrix (rotation) is carried over. The packets are picked by timestamp
    after a seek to the keyframe before ``a``; where the source cannot seek, or the
    seek lands past ``a``, it is read from the start instead (:mod:`curation.media.seeking`).

    Raises:
        UnsupportedCodecError: ``dest``'s container (from its suffix) cannot hold the codec (VP8 in mp4).
        ValueError: fewer packets than ``b - a`` were found (damaged source).
    """
    # Seek to the keyframe before ``a`` (or not at all): demuxers that seek by dts (MPEG-TS) land
    # after a keyframe whose dts is below its pts; packets before ``a`` are skipped.
    k = bisect.bisect_left(index.keyframes, a) - 1
    seek_to = index.pts[index.keyframes[k]] if k >= 0 else None
    Path(dest).parent.mkdir(parents=True, exist_ok=True)
    written = _copy_packets(src, dest, index, a, b, seek_to)
    if written != b - a and seek_to is not None:  # the seek failed or landed past ``a``: from the start
        written = _copy_packets(src, dest, index, a, b, None)
    if written != b - a:
        raise ValueError(f"{src}: copied {written} of {b - a} frames of [{a}, {b})")


def _copy_packets(src: str | Path, dest: str | Path, index: PacketIndex, a: int, b: int, seek_to: int | None) -> int:
    """Stream-copy the packets of frames ``[a, b)`` to ``dest`` (read from ``seek_to``, None: the start);
    return how many were written (0 when the seek failed, or when it landed past frame ``a``)."""
    wanted = set(index.pts[a:b])
    offset = index.pts[a]
    written = 0
    with av.open(str(src)) as inp, av.open(str(dest), "w") as out:
        in_stream = inp.streams.video[0]
        codec = in_stream.codec_context.name
        if codec not in out.supported_codecs:
            raise UnsupportedCodecError(f"{src}: a {out.format.name} clip cannot hold {codec} video")
        out_stream = out.add_stream_from_template(in_stream)
        if seek_to is not None and not seek_keyframe(inp, in_stream, seek_to):
            return 0
        for packet in inp.demux(in_stream):
            if not packet.size or packet.pts not in wanted:
                if written == b - a and packet.pts is not None and packet.pts > index.pts[b - 1]:
                    break
                continue
            if written == 0 and packet.pts != offset:
                return 0  # landed past frame a (its packet comes first in decode order: it is a keyframe)
            packet.pts -= offset
            if packet.dts is not None:
                packet.dts -= offset
            packet.stream = out_stream
            out.mux(packet)
            written += 1
    return written
