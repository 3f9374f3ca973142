"""Smart cut: a frame-exact clip that re-encodes only its head and stream-copies the rest.

A stream copy must start at a keyframe. When the keyframe at or before a shot's first
frame ``a`` lies in another shot, a plain copy would carry that shot's frames. A smart cut
writes exactly ``[a, b)`` instead:

- the *head* ``[a, k)`` — from the shot start to the first keyframe ``k`` inside the span —
  is decoded and re-encoded with libx264 (:func:`curation.media.reencode.reencode_span`);
- the *tail* ``[k, b)`` is stream-copied packet for packet (no quality loss);
- both go into one mp4 video stream with continuous timestamps (the head's decode times are
  shifted below the tail's where B-frame delays differ).

The clip's ``avcC`` is the source's. The head's own parameter sets (SPS/PPS) are put in-band
in its first sample and the source's in-band in the tail's first sample, which must be an
IDR picture: a new SPS may only take effect at an IDR, and decoding from a non-IDR keyframe
(an open GOP's recovery point) would need the previous GOP. FFmpeg-based readers (PyAV, the
trainer) decode such a clip; strict ``avc1`` readers that ignore in-band parameter sets may not.

:func:`smart_cut` returns None — and writes nothing — when a smart cut is not possible (not
H.264 in ``avcC`` form, not 8-bit 4:2:0, no IDR keyframe in the span, a tail that does not
decode on its own); the caller then re-encodes the whole span.
"""

from __future__ import annotations

import bisect
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import av

from curation.media.reencode import reencode_span
from curation.media.remux import plan_span
from curation.media.seeking import seek_keyframe

if TYPE_CHECKING:
    from fractions import Fraction

    from av.container import OutputContainer
    from av.video.stream import VideoStream

    from curation.media.remux import PacketIndex

#: NAL unit types (H.264 Table 7-1).
NAL_IDR, NAL_SPS, NAL_PPS = 5, 7, 8


def parse_avcc(extradata: bytes) -> tuple[int, list[bytes], list[bytes]]:
    """``(nal_length_size, [SPS...], [PPS...])`` of an ``AVCDecoderConfigurationRecord``.

    Raises:
        ValueError: ``extradata`` is not an avcC record (Annex B start codes, or too short).
    """
    if len(extradata) < 7 or extradata[0] != 1:
        raise ValueError("not an avcC record")
    length_size = (extradata[4] & 3) + 1
    pos, sets = 5, []
    for mask in (0x1F, 0xFF):  # SPS count (low 5 bits), then PPS count (a whole byte)
        count, pos, nals = extradata[pos] & mask, pos + 1, []
        for _ in range(count):
            size = int.from_bytes(extradata[pos : pos + 2], "big")
            nals.append(bytes(extradata[pos + 2 : pos + 2 + size]))
            pos += 2 + size
        sets.append(nals)
    return length_size, sets[0], sets[1]


def split_nals(sample: bytes, length_size: int) -> list[bytes]:
    """The NAL units of one length-prefixed (mp4) sample."""
    nals, pos = [], 0
    while pos + length_size <= len(sample):
        size = int.from_bytes(sample[pos : pos + length_size], "big")
        nals.append(sample[pos + length_size : pos + length_size + size])
        pos += length_size + size
    return nals


def join_nals(nals: list[bytes], length_size: int) -> bytes:
    """One length-prefixed sample holding ``nals``."""
    return b"".join(len(n).to_bytes(length_size, "big") + n for n in nals)


def is_idr(sample: bytes, length_size: int) -> bool:
    """Whether an mp4 sample holds an IDR slice."""
    return any(n and n[0] & 0x1F == NAL_IDR for n in split_nals(sample, length_size))


def smart_cut(
    src: str | Path, dest: str | Path, index: PacketIndex, a: int, b: int, *, crf: int = 18,
    preset: str = "veryfast", threads: int = 1,
) -> tuple[int, int] | None:
    """Write frames ``[a, b')`` of ``src`` to the mp4 ``dest``: the head re-encoded, the tail copied.

    ``b'`` ≤ ``b`` is the largest end at which the copied tail decodes on its own
    (:func:`curation.media.remux.plan_span`; with B-frames a few last frames may be left out).

    Returns:
        ``(a, b')`` written; None (nothing written) when no smart cut is possible: the caller
        re-encodes the whole span.

    Raises:
        ValueError, av.FFmpegError: the source's frames or packets could not all be read.
    """
    with av.open(str(src)) as probe:
        ctx = probe.streams.video[0].codec_context
        if ctx.name != "h264" or ctx.format is None or ctx.format.name not in ("yuv420p", "yuvj420p"):
            return None
        try:
            length_size, sps, pps = parse_avcc(bytes(ctx.extradata or b""))
        except ValueError:
            return None
    k = next((f for f in index.keyframes[bisect.bisect_right(index.keyframes, a) :] if f < b), None)
    plan = plan_span(index, k, b, "before", 0) if k is not None else None
    if k is None or plan is None or plan[0] != k:
        return None
    tail_end = plan[1]
    Path(dest).parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="smartcut-") as tmp:
        head = Path(tmp) / "head.mp4"
        reencode_span(src, head, index, a, k, crf=crf, preset=preset, threads=threads)
        if not _mux(src, head, dest, index, a, k, tail_end, length_size, sps + pps):
            Path(dest).unlink(missing_ok=True)
            return None
    return a, tail_end


def _mux(
    src: str | Path, head: Path, dest: str | Path, index: PacketIndex, a: int, k: int, b: int,
    length_size: int, source_sets: list[bytes],
) -> bool:
    """Mux the head's packets then the tail's ``[k, b)`` into ``dest``; False when the tail does not start
    with an IDR picture (or its packets cannot be read)."""
    offset = index.pts[a]
    with av.open(str(head)) as hin:
        hstream = hin.streams.video[0]
        head_length, head_sps, head_pps = parse_avcc(bytes(hstream.codec_context.extradata or b""))
        scale = (hstream.time_base or 1) / index.time_base
        head_packets = [(bytes(p), round(p.pts * scale), round(p.dts * scale), p.is_keyframe)
                        for p in hin.demux(hstream) if p.size]
    tail = _tail_packets(src, index, k, b)
    if tail is None or not tail or not is_idr(tail[0][0], length_size):
        return False
    # Decode times must keep rising from the head into the tail: shift the head's down when needed.
    shift = max(0, head_packets[-1][2] - (tail[0][2] - offset) + 1) if head_packets else 0
    with av.open(str(src)) as inp, av.open(str(dest), "w") as out:
        stream = out.add_stream_from_template(inp.streams.video[0])
        for i, (data, pts, dts, key) in enumerate(head_packets):
            nals = split_nals(data, head_length)
            if i == 0:
                nals = [*head_sps, *head_pps, *nals]
            _mux_one(out, stream, join_nals(nals, length_size), pts, dts - shift, key, index.time_base)
        for i, (data, pts, dts, key) in enumerate(tail):
            if i == 0:
                data = join_nals([*source_sets, *split_nals(data, length_size)], length_size)
            _mux_one(out, stream, data, pts - offset, dts - offset, key, index.time_base)
    return True


def _tail_packets(src: str | Path, index: PacketIndex, k: int, b: int) -> list[tuple[bytes, int, int, bool]] | None:
    """``(data, pts, dts, keyframe)`` of the packets of frames ``[k, b)`` in decode order (None: unreadable).

    Seeks to ``k`` (a keyframe); where the seek fails or lands past it, reads from the start.
    """
    wanted = set(index.pts[k:b])
    for seek in (index.pts[k], None):
        with av.open(str(src)) as inp:
            stream = inp.streams.video[0]
            if seek is not None and not seek_keyframe(inp, stream, seek):
                continue
            got = []
            for p in inp.demux(stream):
                if p.size and p.pts in wanted:
                    if p.dts is None:
                        return None
                    got.append((bytes(p), int(p.pts), int(p.dts), bool(p.is_keyframe)))
                    if len(got) == len(wanted):
                        break
            if len(got) == len(wanted) and got[0][1] == index.pts[k]:
                return got
    return None


def _mux_one(out: OutputContainer, stream: VideoStream, data: bytes, pts: int, dts: int, key: bool,
             time_base: Fraction) -> None:
    """Mux one packet of ``data`` timed in ``time_base`` (the source's)."""
    packet = av.Packet(data)
    packet.pts, packet.dts, packet.time_base, packet.stream = pts, dts, time_base, stream
    packet.is_keyframe = key
    out.mux(packet)
