"""Valid videos that are hard to read right, written on purpose: no seek index, and legacy codecs.

**Without a seek index.** FFmpeg seeks with an index: Matroska's Cues (or, without
them, the keyframe flags of the blocks it has read so far), mp4's ``moov``, FLV's
keyframe metadata. Streaming muxers (a recorder writing to a pipe, a live encoder,
a camera) write files without one, and FFmpeg then answers a seek with EPERM
("Operation not permitted"), or lands somewhere else than asked (MPEG-TS seeks by
decode time; ASF and RealMedia land on an earlier keyframe):

- ``mkv_no_cues``: Matroska, MPEG-4 Part 2 + AAC, written as a stream (no Cues) by a
  muxer that flags no block as a keyframe (the keyframes are in the bitstream only):
  FFmpeg has nothing to seek with, ``container.seek(0)`` raises EPERM;
- ``webm_no_cues``: the same in WebM, VP8 + Opus;
- ``fragmented_mp4``: H.264 + AAC in fragments (``frag_keyframe+empty_moov``: the moov lists no sample);
- ``mpegts``: H.264 + AAC in MPEG-TS (no index at all, timestamps start at 1.4 s);
- ``flv``: Sorenson Spark (FLV1, an H.263 variant) + AAC in FLV starting at 1 s, as a
  recording joined mid-stream, without a keyframe index (``container.seek(0)`` raises EPERM);
- ``mp4_moov_at_end``: H.264 + AAC from the default mp4 muxer (the index after the media data).

**Legacy codecs** FFmpeg decodes (an mp4 clip cannot hold most of them: the clip
stage re-encodes those, see :mod:`curation.stages.clip`):

- ``h263_3gp``: H.263 + AAC in 3GP (H.263 allows only a few sizes; 176×144 is QCIF);
- ``wmv2_asf``: Windows Media Video 8 + WMA 2 in ASF;
- ``rv20_rm``: RealVideo 2 + AC-3 in RealMedia;
- ``theora_ogg``: Theora in Ogg (needs the ``libtheora`` encoder, which FFmpeg builds may lack:
  :func:`missing_encoders` says so);
- ``vp8_webm``: VP8 + Opus in WebM (a seekable one, with Cues).

Every video is :data:`SHOTS` shots of :data:`SHOT_FRAMES` frames (a textured pan,
hard cuts, a keyframe at each cut and every :data:`GOP` frames) at :data:`SIZE`,
:data:`FPS` frames/s. :func:`seekable_copy` stream-copies a video into a Matroska
file with Cues: the reference a curated seek-less file must match.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import av

from curation.badinputs import Audio, encode, pan_frames

#: Frame size (width, height) of every video: QCIF, which H.263 allows.
SIZE = (176, 144)
FPS = 24
#: Shots per video and frames per shot (1.5 s each: over split.min_clip_s).
SHOTS = 2
SHOT_FRAMES = 36
#: Keyframe interval in frames (besides the keyframe at each cut).
GOP = 12

#: EBML ids (Matroska): the Segment, its Cluster and Cues children, a Cluster's SimpleBlock.
_SEGMENT, _CLUSTER, _CUES, _SIMPLE_BLOCK = 0x18538067, 0x1F43B675, 0x1C53BB6B, 0xA3


class MissingEncoderError(RuntimeError):
    """This FFmpeg build has no encoder for the kind asked for (``encoders`` names them)."""

    def __init__(self, kind: str, encoders: Sequence[str]) -> None:
        super().__init__(f"cannot write {kind}: PyAV's FFmpeg has no {', '.join(encoders)} encoder")
        self.encoders = list(encoders)


@dataclass(frozen=True)
class OddKind:
    """How one kind of odd input is written.

    Attributes:
        name: short name (the file stem).
        suffix: the file suffix (``.mkv``).
        container: FFmpeg muxer.
        codec: FFmpeg video encoder.
        audio: the audio track, or None.
        description: what is odd about it.
        seekless: the file has no seek index (or FFmpeg seeks in it inexactly).
        streaming: written through an unseekable file object (as to a pipe).
        unflag_keyframes: Matroska blocks carry no keyframe flag (the muxer did not parse the codec).
        start: pts of the first frame, in frames (a recording joined mid-stream).
        options: encoder options.
        container_options: muxer options.
    """

    name: str
    suffix: str
    container: str
    codec: str
    audio: Audio | None
    description: str
    seekless: bool = False
    streaming: bool = False
    unflag_keyframes: bool = False
    start: int = 0
    options: dict[str, str] = field(default_factory=dict)
    container_options: dict[str, str] = field(default_factory=dict)

    @property
    def encoders(self) -> list[str]:
        """Every FFmpeg encoder writing this kind needs."""
        return [self.codec] + ([self.audio.codec] if self.audio else [])


_VPX = {"deadline": "realtime", "cpu-used": "8", "threads": "1"}  # else seconds per file (threads spin)
_OPUS = Audio("libopus", 48000)

KINDS: dict[str, OddKind] = {k.name: k for k in (
    OddKind("mkv_no_cues", ".mkv", "matroska", "mpeg4", Audio(),
            "Matroska (MPEG-4 Part 2 + AAC) written as a stream: no Cues, no keyframe flags",
            seekless=True, streaming=True, unflag_keyframes=True),
    OddKind("webm_no_cues", ".webm", "webm", "libvpx", _OPUS,
            "WebM (VP8 + Opus) written as a stream: no Cues, no keyframe flags",
            seekless=True, streaming=True, unflag_keyframes=True, options=_VPX),
    OddKind("fragmented_mp4", ".mp4", "mp4", "libx264", Audio(),
            "fragmented mp4 (H.264 + AAC): empty moov, one fragment per keyframe", seekless=True,
            streaming=True, container_options={"movflags": "frag_keyframe+empty_moov"}),
    OddKind("mpegts", ".ts", "mpegts", "libx264", Audio(), "MPEG-TS (H.264 + AAC): no index", seekless=True),
    OddKind("flv", ".flv", "flv", "flv", Audio("aac", 44100),
            "FLV (Sorenson Spark + AAC) starting at 1 s, no keyframe index: seeking to 0 fails", seekless=True,
            start=FPS),
    OddKind("mp4_moov_at_end", ".mp4", "mp4", "libx264", Audio(),
            "mp4 (H.264 + AAC) with its index (moov) after the media data", seekless=True),
    OddKind("h263_3gp", ".3gp", "3gp", "h263", Audio(), "H.263 + AAC in 3GP"),
    OddKind("wmv2_asf", ".wmv", "asf", "wmv2", Audio("wmav2", 22050, "stereo"), "WMV2 + WMA2 in ASF"),
    OddKind("rv20_rm", ".rm", "rm", "rv20", Audio("ac3", 44100), "RealVideo 2 + AC-3 in RealMedia"),
    OddKind("theora_ogg", ".ogv", "ogg", "libtheora", None, "Theora in Ogg"),
    OddKind("vp8_webm", ".webm", "webm", "libvpx", _OPUS, "VP8 + Opus in WebM (with Cues)", options=_VPX),
)}


def odd_input_names(seekless: bool | None = None) -> list[str]:
    """Names of the kinds (only the seek-less ones, or only the others, when ``seekless`` is given)."""
    return [k.name for k in KINDS.values() if seekless is None or k.seekless == seekless]


def missing_encoders(name: str) -> list[str]:
    """The encoders kind ``name`` needs that PyAV's FFmpeg lacks ([] when it can be written)."""
    missing = []
    for codec in KINDS[name].encoders:
        try:
            av.Codec(codec, "w")
        except av.codec.codec.UnknownCodecError:
            missing.append(codec)
    return missing


def write_odd_input(name: str, path: str | Path, seed: int = 0) -> Path:
    """Write kind ``name`` (a key of :data:`KINDS`) to ``path``.

    Raises:
        MissingEncoderError: PyAV's FFmpeg cannot encode this kind.
    """
    kind = KINDS[name]
    missing = missing_encoders(name)
    if missing:
        raise MissingEncoderError(name, missing)
    frames = pan_frames(SHOTS * SHOT_FRAMES, seed, shots=SHOTS, size=SIZE)
    options = {"g": str(GOP), **kind.options}
    if kind.codec == "libx264":
        options = {"x264-params": f"keyint={GOP}:scenecut=0", **kind.options}
    path = encode(frames, path, codec=kind.codec, container_format=kind.container, fps=FPS,
                  pts=range(kind.start, kind.start + len(frames)), options=options,
                  key_at=range(0, len(frames), SHOT_FRAMES), container_options=kind.container_options,
                  audio=kind.audio, streaming=kind.streaming)
    if kind.unflag_keyframes:
        unflag_keyframes(path)
    return path


@dataclass(frozen=True)
class OddInput:
    """One written input: its kind and the file."""

    kind: OddKind
    path: Path


def write_odd_inputs(out_dir: str | Path, names: Sequence[str] | None = None, seed: int = 0,
                     skip_missing: bool = True) -> list[OddInput]:
    """Write ``<name><suffix>`` into ``out_dir`` for each kind (default: all).

    Args:
        skip_missing: leave out kinds whose encoder PyAV's FFmpeg lacks (else raise :class:`MissingEncoderError`).
    """
    out = Path(out_dir)
    written = []
    for name in names or odd_input_names():
        if skip_missing and missing_encoders(name):
            continue
        kind = KINDS[name]
        written.append(OddInput(kind, write_odd_input(name, out / f"{name}{kind.suffix}", seed)))
    return written


#: Containers :func:`seekable_copy` writes, in order of preference (the first that can hold the codec).
SEEKABLE_CONTAINERS: tuple[tuple[str, str], ...] = (("matroska", ".mkv"), ("nut", ".nut"))


def seekable_copy(src: str | Path, dest_stem: str | Path) -> Path:
    """Stream-copy the first video stream of ``src`` into a file that FFmpeg seeks in exactly.

    Matroska written to a seekable file (with Cues and keyframe flags), or NUT (FFmpeg's own
    container, with its index) for codecs Matroska cannot hold (FLV1, H.263, WMV2; AVI could
    hold them but counts time in frames, which a millisecond time base does not fit). The
    packets are the same, and so are the decoded frames.

    Args:
        dest_stem: the copy's path without its suffix (the container picks it).

    Returns:
        The copy's path.
    """
    with av.open(str(src)) as inp:
        in_stream = inp.streams.video[0]
        codec = in_stream.codec_context.name
        holders = [(fmt, suffix) for fmt, suffix in SEEKABLE_CONTAINERS if _holds(fmt, codec)]
        if not holders:
            raise ValueError(f"{src}: none of {[f for f, _ in SEEKABLE_CONTAINERS]} can hold {codec} video")
        fmt, suffix = holders[0]
        dest = Path(f"{dest_stem}{suffix}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        with av.open(str(dest), "w", format=fmt) as out:
            out_stream = out.add_stream_from_template(in_stream)
            for packet in inp.demux(in_stream):
                if packet.size:
                    packet.stream = out_stream
                    out.mux(packet)
    return dest


def _holds(fmt: str, codec: str) -> bool:
    """Whether FFmpeg's ``fmt`` muxer says it can hold ``codec``."""
    with av.open(os.devnull, "w", format=fmt) as probe:
        return codec in probe.supported_codecs


def matroska_elements(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int, int, int]]:
    """``(id, start, body, end)`` of the EBML elements in ``data[start:end]``, in order.

    An element of unknown size (a live stream's Segment or Cluster) ends where ``end`` does.
    """
    end = len(data) if end is None else end
    pos = start
    while pos < end:
        eid, id_len = _vint(data, pos, keep_marker=True)
        size, size_len = _vint(data, pos + id_len)
        body = pos + id_len + size_len
        unknown = size == (1 << (7 * size_len)) - 1
        stop = end if unknown else min(end, body + size)
        yield eid, pos, body, stop
        pos = stop


def _vint(data: bytes, pos: int, keep_marker: bool = False) -> tuple[int, int]:
    """An EBML variable-length integer at ``pos``: ``(value, length in bytes)``."""
    first = data[pos]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    value = first if keep_marker else first & (0xFF >> length)
    for byte in data[pos + 1 : pos + length]:
        value = (value << 8) | byte
    return value, length


def _segment_children(data: bytes) -> list[tuple[int, int, int, int]]:
    """The top-level elements of the first Segment of a Matroska file."""
    for eid, _, body, stop in matroska_elements(data):
        if eid == _SEGMENT:
            return list(matroska_elements(data, body, stop))
    raise ValueError("no Matroska Segment")


def has_cues(path: str | Path) -> bool:
    """Whether the Matroska file at ``path`` has a Cues element (its seek index)."""
    return any(eid == _CUES for eid, *_ in _segment_children(Path(path).read_bytes()))


def _simple_blocks(data: bytes) -> Iterator[tuple[int, int]]:
    """``(track number, offset of the flags byte)`` of every SimpleBlock in the Clusters of ``data``."""
    for eid, _, body, stop in _segment_children(data):
        if eid != _CLUSTER:
            continue
        for child, _, block, _end in matroska_elements(data, body, stop):
            if child == _SIMPLE_BLOCK:
                track, length = _vint(data, block)
                yield track, block + length + 2  # track number, 16-bit timecode, flags


def keyframe_flags(path: str | Path, track: int = 1) -> list[bool]:
    """The keyframe flag of each SimpleBlock of ``track`` (Matroska track numbers start at 1)."""
    data = Path(path).read_bytes()
    return [bool(data[at] & 0x80) for number, at in _simple_blocks(data) if number == track]


def unflag_keyframes(path: str | Path, track: int = 1) -> int:
    """Clear the keyframe flag of every SimpleBlock of ``track`` in the Matroska file at ``path``; return how many.

    The keyframes stay keyframes in the bitstream (FFmpeg's parsers still find them); the
    container just no longer says so, as with muxers that do not parse the codec.
    """
    path = Path(path)
    data = bytearray(path.read_bytes())
    blocks = [at for number, at in _simple_blocks(bytes(data)) if number == track]
    for at in blocks:
        data[at] &= 0x7F
    path.write_bytes(bytes(data))
    return len(blocks)

