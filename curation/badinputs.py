"""Bad and unusual input videos, written on purpose, for robustness tests and demos.

Each writer produces one kind of input that real collections contain and that a
naive pipeline crashes on or gets wrong: empty and truncated files, a file whose
name lies about its container (or that is no video at all), audio only, variable
frame rate, a rotation in the display matrix (a phone's portrait video), odd
frame dimensions and very short videos. :func:`write_bad_inputs` writes the whole
set; every writer returns the path it wrote.

Video content comes from :func:`curation.synthetic.write_video` (a textured pan,
so motion filters keep it), decoded and re-encoded where the codec, container,
timestamps or geometry must differ.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
import cv2
import numpy as np

from curation.synthetic import ShotSpec, VideoSpec, top_level_boxes, write_video

#: Variable-frame-rate segments of :func:`write_vfr`: (frames per second, seconds), one shot each.
VFR_SEGMENTS: tuple[tuple[int, float], ...] = ((24, 2.0), (12, 2.0), (30, 2.0))
#: Ticks per second of the VFR video's timestamps (a multiple of every segment rate).
VFR_TICKS = 120
#: The display rotation of :func:`write_rotated`, counter-clockwise degrees (PyAV's ``VideoFrame.rotation``).
ROTATION_DEG = -90
#: Frame size of :func:`write_odd_size`.
ODD_SIZE = (161, 121)


@dataclass(frozen=True)
class BadInput:
    """One written input.

    Attributes:
        name: short name (the file stem).
        path: the file written.
        description: what is unusual about it.
    """

    name: str
    path: Path
    description: str


def pan_frames(
    num_frames: int, seed: int, shots: int = 1, speed: float = 2.0, size: tuple[int, int] = (160, 120)
) -> list[np.ndarray]:
    """RGB frames (``size`` = width, height) of a synthetic pan: ``shots`` shots of equal length, hard cuts
    between them."""
    per, rest = divmod(num_frames, shots)
    spec = VideoSpec(seed=seed, width=size[0], height=size[1], shots=tuple(
        ShotSpec(per + (i < rest), speed=speed, direction_deg=40.0 * i) for i in range(shots)))
    with tempfile.TemporaryDirectory(prefix="vidforge-bad-") as tmp:
        truth = write_video(spec, Path(tmp) / "frames.mp4")
        with av.open(truth.path) as container:
            return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


@dataclass(frozen=True)
class Audio:
    """An audio track for :func:`encode`: a 440 Hz tone as long as the video.

    Attributes:
        codec: FFmpeg encoder (``aac``, ``libopus``, ``wmav2``, ``ac3``...).
        rate: sample rate in Hz.
        layout: channel layout (``mono``, ``stereo``).
        bit_rate: bits per second (WMA needs one).
    """

    codec: str = "aac"
    rate: int = 16000
    layout: str = "mono"
    bit_rate: int = 64000


class _Unseekable:
    """A write-only file object that says it cannot seek: muxers write to it as to a pipe or a live stream."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file

    def write(self, data: bytes) -> int:
        return self._file.write(data)

    def seekable(self) -> bool:
        return False


def tone(seconds: float, rate: int, hz: float = 440.0) -> np.ndarray:
    """``float32`` samples of a sine tone (amplitude 0.2)."""
    t = np.arange(int(seconds * rate), dtype=np.float32) / rate
    return (0.2 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def _audio_frames(stream: av.AudioStream, start: Fraction, seconds: float) -> Iterator[av.AudioFrame]:
    """Frames of a tone of ``seconds`` from time ``start`` (s), in the encoder's frame size and sample format."""
    ctx = stream.codec_context
    rate, layout, fmt = ctx.sample_rate, ctx.layout, ctx.format
    chunk = ctx.frame_size or 1024
    channels = len(layout.channels)
    samples = tone(seconds, rate)
    first = round(start * rate)
    for i in range(0, len(samples) - chunk + 1, chunk):
        block = np.repeat(samples[None, i : i + chunk], channels, axis=0)
        if fmt.name.startswith("s16"):
            block = (block * 32767).astype(np.int16)
        if not fmt.is_planar:
            block = block.T.reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block), format=fmt.name, layout=layout.name)
        frame.sample_rate, frame.pts, frame.time_base = rate, first + i, Fraction(1, rate)
        yield frame


def encode(
    frames: Sequence[np.ndarray],
    path: str | Path,
    *,
    codec: str = "libx264",
    container_format: str | None = None,
    fps: int = 24,
    pts: Sequence[int] | None = None,
    time_base: Fraction | None = None,
    pix_fmt: str = "yuv420p",
    rotation: int = 0,
    key_at: Sequence[int] = (),
    options: dict[str, str] | None = None,
    container_options: dict[str, str] | None = None,
    audio: Audio | None = None,
    streaming: bool = False,
) -> Path:
    """Encode RGB ``frames`` (all one size) with any codec into any container.

    Args:
        frames: ``uint8`` arrays of shape ``(H, W, 3)``.
        path: the output file; its suffix need not match ``container_format``.
        codec: FFmpeg encoder name (``libx264``, ``mpeg4``, ``libvpx-vp9``...).
        container_format: FFmpeg muxer (``mp4``, ``matroska``, ``avi``); None: from the suffix.
        fps: nominal frame rate; frame ``i`` gets pts ``i`` in ticks of ``1/fps`` unless ``pts`` is given.
        pts: per-frame timestamps in ticks of ``time_base`` (variable frame rate).
        time_base: tick length of ``pts`` (default ``1/fps``).
        pix_fmt: encoder pixel format (``yuv444p`` allows odd sizes with libx264).
        rotation: display rotation in counter-clockwise degrees written as the stream's display matrix.
        key_at: frame indices forced to be keyframes (besides the encoder's own).
        options: extra encoder options.
        container_options: muxer options (``{"movflags": "faststart"}``).
        audio: also write this audio track, starting with the first frame and as long as the video,
            interleaved with it.
        streaming: write through a file object that cannot seek, as a muxer writes to a pipe or a live
            stream: nothing is written back once written (Matroska: no Cues; MP4 needs fragments).

    Returns:
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tb = time_base or Fraction(1, fps)
    stamps = list(pts) if pts is not None else list(range(len(frames)))
    height, width = frames[0].shape[:2]
    with ExitStack() as stack:
        target: str | _Unseekable = str(path)
        if streaming:
            target = _Unseekable(stack.enter_context(path.open("wb")))
        out = stack.enter_context(av.open(target, "w", format=container_format, options=container_options or {}))
        stream = out.add_stream(codec, rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.codec_context.time_base = tb
        stream.options = dict(options or {})
        if rotation:
            stream.set_display_rotation(rotation)
        track, sound = None, iter(())
        if audio is not None:
            track = out.add_stream(audio.codec, rate=audio.rate)
            track.layout, track.bit_rate = audio.layout, audio.bit_rate
            seconds = (stamps[-1] - stamps[0]) * tb + Fraction(1, fps)
            sound = _audio_frames(track, stamps[0] * tb, float(seconds))
        pending = next(sound, None)
        for i, img in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            frame.pts, frame.time_base = stamps[i], tb
            if i in key_at:
                frame.pict_type = av.video.frame.PictureType.I
            out.mux(stream.encode(frame))
            while track is not None and pending is not None and pending.pts * pending.time_base <= stamps[i] * tb:
                out.mux(track.encode(pending))  # the sound up to this frame: interleaved as a recorder writes
                pending = next(sound, None)
        out.mux(stream.encode(None))
        if track is not None:
            for rest in ([pending] if pending is not None else []) + list(sound):
                out.mux(track.encode(rest))
            out.mux(track.encode(None))
    return path


def write_zero_byte(path: str | Path) -> Path:
    """An empty file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def write_truncated_mdat(path: str | Path, seed: int = 0) -> Path:
    """An mp4 with its index (``moov``) first, cut off in the middle of the media data (``mdat``).

    It opens and its index promises every frame, but the second half of the
    packets is missing (a download that stopped half way).
    """
    path = encode(pan_frames(48, seed), path, container_format="mp4", container_options={"movflags": "faststart"})
    data = path.read_bytes()
    boxes = {kind: (start, end) for kind, start, end in top_level_boxes(data)}
    start, end = boxes["mdat"]
    if boxes["moov"][0] > start:
        raise RuntimeError("the mp4 muxer's faststart did not put moov before mdat")
    path.write_bytes(data[: (start + end) // 2])
    return path


def write_no_moov(path: str | Path, seed: int = 0) -> Path:
    """An mp4 whose media data is complete but whose index (``moov``, written last) is missing.

    A recorder killed before it finalised the file leaves exactly this.
    """
    path = Path(path)
    encode(pan_frames(24, seed), path, container_format="mp4")
    data = path.read_bytes()
    boxes = {kind: (start, end) for kind, start, end in top_level_boxes(data)}
    path.write_bytes(data[: boxes["moov"][0]])
    return path


#: Container → the codec :func:`write_wrong_container` puts in it (the usual pairings).
CONTAINER_CODECS: dict[str, str] = {
    "matroska": "libx264", "webm": "libvpx-vp9", "webm_vp8": "libvpx", "avi": "mpeg4", "mpegts": "libx264",
}


def write_wrong_container(path: str | Path, container: str = "matroska", seed: int = 0) -> Path:
    """A valid two-shot video in another container under ``path`` (e.g. ``x.mp4``).

    Args:
        container: a key of :data:`CONTAINER_CODECS`: Matroska (H.264), WebM (VP9, or VP8
            with ``webm_vp8``, which an mp4 cannot hold), AVI (MPEG-4 Part 2), MPEG-TS (H.264).
    """
    codec = CONTAINER_CODECS[container]
    options = {"x264-params": "keyint=24"} if codec == "libx264" else {"g": "24"}
    if codec.startswith("libvpx"):
        options |= {"deadline": "realtime", "cpu-used": "8", "threads": "1"}  # else seconds (threads spin)
    return encode(pan_frames(72, seed, shots=2), path, codec=codec, container_format=container.split("_")[0],
                  key_at=(36,), options=options)


def write_not_a_video(path: str | Path, kind: str = "png", seed: int = 0) -> Path:
    """A file that is no video at all under a video name: a PNG image (``png``) or plain text (``text``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "png":
        _, buf = cv2.imencode(".png", cv2.cvtColor(pan_frames(1, seed)[0], cv2.COLOR_RGB2BGR))
        path.write_bytes(buf.tobytes())
    elif kind == "text":
        path.write_text("this is not a video\n" * 40)
    else:
        raise ValueError(f"unknown kind {kind!r}; known: png, text")
    return path


def write_audio_only(path: str | Path, seconds: float = 2.0, cover_art: bool = False) -> Path:
    """An mp4/m4a with one AAC stream (a 440 Hz tone) and no video; with ``cover_art``, an album cover.

    The cover is an MJPEG picture in a video stream marked ``attached_pic``: a
    container with a "video stream" that is no video.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=16000)
        stream.layout = "mono"
        cover: list[av.Packet] = []
        if cover_art:
            pic = out.add_stream("mjpeg", rate=1)
            pic.width, pic.height, pic.pix_fmt = 64, 64, "yuvj420p"
            pic.disposition = av.stream.Disposition.attached_pic
            image = av.VideoFrame.from_ndarray(cv2.resize(pan_frames(1, 0)[0], (64, 64)), format="rgb24")
            image.pts = 0
            cover = [*pic.encode(image), *pic.encode(None)]
        for frame in _audio_frames(stream, Fraction(0), seconds):
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
        out.mux(cover)
    return path


def vfr_pts(segments: Sequence[tuple[int, float]] = VFR_SEGMENTS, ticks: int = VFR_TICKS) -> list[int]:
    """Timestamps (in ``1/ticks`` s) of consecutive constant-rate segments ``(fps, seconds)``."""
    pts, t = [], 0
    for fps, seconds in segments:
        step = ticks // fps
        for _ in range(round(fps * seconds)):
            pts.append(t)
            t += step
    return pts


def write_vfr(path: str | Path, seed: int = 0) -> Path:
    """H.264 mp4 whose frame rate changes: :data:`VFR_SEGMENTS` (24 → 12 → 30 fps), one shot each.

    Each segment is its own shot (a hard cut and a keyframe at its start), so a
    correct pipeline writes one clip per segment with that segment's duration.
    """
    counts = [round(fps * s) for fps, s in VFR_SEGMENTS]
    starts = [int(s) for s in np.cumsum([0, *counts[:-1]])]
    frames: list[np.ndarray] = []
    for k, n in enumerate(counts):
        frames.extend(pan_frames(n, seed + 100 + k))
    return encode(frames, path, fps=VFR_TICKS, pts=vfr_pts(), time_base=Fraction(1, VFR_TICKS),
                  key_at=starts, options={"x264-params": "scenecut=0"})


def write_rotated(path: str | Path, seed: int = 0) -> Path:
    """A phone-style portrait video: coded landscape (160×120), display matrix rotating it by :data:`ROTATION_DEG`.

    The upright picture is 120 wide and 160 tall; players (and
    :func:`curation.media.frames.decode_clip_frames`) show it upright.
    """
    upright = upright_frames(seed)
    coded = [np.ascontiguousarray(np.rot90(f, -ROTATION_DEG // 90)) for f in upright]
    return encode(coded, path, rotation=ROTATION_DEG)


def upright_frames(seed: int = 0, num_frames: int = 48) -> list[np.ndarray]:
    """The upright (portrait, 120×160) frames :func:`write_rotated` encodes: a bright bar marks the top."""
    frames = [np.ascontiguousarray(np.rot90(f)) for f in pan_frames(num_frames, seed + 200)]
    for f in frames:
        f[:16] = 255
    return frames


def write_odd_size(path: str | Path, seed: int = 0, codec: str = "libx264") -> Path:
    """A 161×121 video (odd sizes: H.264 4:4:4, or MPEG-4 Part 2 with ``codec="mpeg4"``)."""
    w, h = ODD_SIZE
    frames = [cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in pan_frames(48, seed + 300)]
    pix_fmt = "yuv444p" if codec == "libx264" else "yuv420p"
    return encode(frames, path, codec=codec, pix_fmt=pix_fmt)


def write_short(path: str | Path, num_frames: int, seed: int = 0) -> Path:
    """An H.264 mp4 of only ``num_frames`` frames at 24 fps."""
    return encode(pan_frames(num_frames, seed + 400), path)


#: name → (writer, description); every writer takes ``(path, seed)``.
_WRITERS: dict[str, tuple[Callable[[Path, int], Path], str]] = {
    "zero_byte": (lambda p, s: write_zero_byte(p), "empty file"),
    "truncated_mdat": (write_truncated_mdat, "moov first, cut in the middle of mdat"),
    "no_moov": (write_no_moov, "complete mdat, moov index missing"),
    "mkv_as_mp4": (lambda p, s: write_wrong_container(p, "matroska", s), "Matroska (H.264) named .mp4"),
    "webm_as_mp4": (lambda p, s: write_wrong_container(p, "webm", s), "WebM (VP9) named .mp4"),
    "vp8_webm_as_mp4": (lambda p, s: write_wrong_container(p, "webm_vp8", s), "WebM (VP8) named .mp4"),
    "avi_as_mp4": (lambda p, s: write_wrong_container(p, "avi", s), "AVI (MPEG-4 Part 2) named .mp4"),
    "ts_as_mp4": (lambda p, s: write_wrong_container(p, "mpegts", s), "MPEG-TS (H.264) named .mp4"),
    "png_as_mp4": (lambda p, s: write_not_a_video(p, "png", s), "a PNG image named .mp4"),
    "text_as_mp4": (lambda p, s: write_not_a_video(p, "text", s), "a text file named .mp4"),
    "audio_only": (lambda p, s: write_audio_only(p), "AAC audio only (.m4a)"),
    "audio_cover_art": (lambda p, s: write_audio_only(p, cover_art=True), "AAC audio with album cover art (.m4a)"),
    "vfr": (write_vfr, "variable frame rate 24 → 12 → 30 fps"),
    "rotated": (write_rotated, "display matrix rotation (portrait phone video)"),
    "odd_size": (write_odd_size, "161×121 H.264 4:4:4"),
    "one_frame": (lambda p, s: write_short(p, 1, s), "a single frame"),
    "three_frames": (lambda p, s: write_short(p, 3, s), "three frames"),
    "half_second": (lambda p, s: write_short(p, 12, s), "12 frames (0.5 s, under split.min_clip_s)"),
}


def bad_input_names() -> list[str]:
    """Names of every kind :func:`write_bad_inputs` writes."""
    return list(_WRITERS)


def write_bad_inputs(out_dir: str | Path, names: Sequence[str] | None = None, seed: int = 0) -> list[BadInput]:
    """Write one file per kind into ``out_dir``: ``<name>.mp4`` (the audio ones ``<name>.m4a``)."""
    out = Path(out_dir)
    written = []
    for name in names or bad_input_names():
        writer, description = _WRITERS[name]
        suffix = ".m4a" if name.startswith("audio") else ".mp4"
        written.append(BadInput(name, writer(out / f"{name}{suffix}", seed), description))
    return written
