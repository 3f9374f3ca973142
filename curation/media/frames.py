"""Decode-once: every frame any per-clip signal needs, from one pass over the clip.

The per-clip signals read different frames of the same clip: motion wants
pairs of adjacent grey frames sampled at ``motion.sample_fps`` (tiny), OCR and
CLIP want the first, middle and last frame, the image captioner the middle one,
the video captioner ``frames.video_frames`` frames spread over the clip.
:func:`decode_clip_frames` collects all of them while decoding the clip once,
converting (and scaling, inside FFmpeg's swscale) only the frames it keeps.

The :class:`~curation.stages.frames.FramesStage` stores the result on
``ClipItem.frames``; the signal stages call :func:`frames_for`, which returns
that object, or — when no frames stage ran (a profile without it, or the
``bench/curation.py`` baseline) — decodes just what the calling stage needs,
inside :func:`decode_errors`, which turns decode failures into the clip's quarantine codes.
Only the flow pairs depend on the motion settings, so ``motion`` is a keyword
argument that only a request for :data:`FLOW` needs (the motion and frames stages
pass it; the key/sampled-frame consumers do not).
The frames stage's last consumer releases them (``release_frames``) so
they do not travel to the filter and upload stages.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from curation.config import FramesConfig, MotionConfig
from curation.stages.base import ItemError
from vidforge.media import upright

if TYPE_CHECKING:
    from collections.abc import Iterator

    from curation.items import ClipItem

#: What a consumer can ask for.
KEY = "key"  # first, middle, last frame (RGB)
SAMPLED = "sampled"  # frames.video_frames evenly spaced frames (RGB)
FLOW = "flow"  # adjacent grey pairs for optical flow
ALL: frozenset[str] = frozenset({KEY, SAMPLED, FLOW})


class TooShortError(ValueError):
    """The clip has no decodable frame (or, for flow, fewer than two)."""


@dataclass
class ClipFrames:
    """The frames of one clip that the signal stages read.

    Attributes:
        num_frames: frames in the clip.
        key: ``{"first", "middle", "last"}`` → RGB ``uint8`` ``(H, W, 3)``, longest side ≤ ``max_side``,
            upright (the clip's display rotation applied, as a player shows it).
        sampled: evenly spaced RGB frames (the video captioner's input), in order, upright.
        sampled_index: the clip frame index of each ``sampled`` frame.
        flow: ``(frame i, frame i+1)`` grey ``uint8`` pairs, short side = ``motion.short_side``, as coded
            (flow magnitudes do not depend on the rotation).
        decoded: which parts were asked for (a subset of :data:`ALL`).
    """

    num_frames: int
    key: dict[str, np.ndarray] = field(default_factory=dict)
    sampled: list[np.ndarray] = field(default_factory=list)
    sampled_index: list[int] = field(default_factory=list)
    flow: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    decoded: frozenset[str] = ALL

    def key_frames(self) -> list[np.ndarray]:
        """First, middle and last frame, in that order."""
        return [self.key[name] for name in ("first", "middle", "last")]


def key_indices(num_frames: int) -> dict[str, int]:
    """Frame indices of the first, middle and last frame."""
    return {"first": 0, "middle": num_frames // 2, "last": max(0, num_frames - 1)}


def sampled_indices(num_frames: int, count: int) -> list[int]:
    """``count`` evenly spaced frame indices (fewer when the clip is shorter), centred in their segments."""
    count = min(count, num_frames)
    return sorted({int((k + 0.5) * num_frames / count) for k in range(count)})


def flow_pairs(num_frames: int, fps: float, sample_fps: float) -> list[int]:
    """First frames of the adjacent ``(i, i+1)`` pairs sampled at ``sample_fps``."""
    step = max(1.0, fps / sample_fps)
    starts = {round(k * step) for k in range(int(num_frames / step) + 1)}
    return sorted({i for i in starts if i + 1 < num_frames} or ({0} if num_frames >= 2 else set()))


def _count_frames(path: str | Path, stream: object) -> int:
    """Frames of the clip: its container's count, else its video packets, counted in a container of their own
    (rewinding by a seek needs an index the clip may not have, see :mod:`curation.media.seeking`)."""
    n = int(getattr(stream, "frames", 0) or 0)
    if n <= 0:
        import av

        with av.open(str(path)) as container:
            n = sum(1 for p in container.demux(video=0) if p.size)
    return n


def _fit(width: int, height: int, max_side: int) -> tuple[int, int]:
    """Even ``(w, h)`` with the longest side ≤ ``max_side``, aspect kept."""
    scale = min(1.0, max_side / max(width, height))
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def _short(width: int, height: int, short_side: int) -> tuple[int, int]:
    scale = short_side / min(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _flow_settings(want: frozenset[str], motion: MotionConfig | None) -> MotionConfig | None:
    """The motion settings the flow pairs use: ``motion`` when ``want`` asks for :data:`FLOW`, else None.

    Raises:
        ValueError: :data:`FLOW` is in ``want`` but ``motion`` is None.
    """
    if FLOW not in want:
        return None
    if motion is None:
        raise ValueError(f"decoding {FLOW!r} frames needs the motion settings (sample_fps, short_side): "
                         "pass motion=MotionConfig(...)")
    return motion


def decode_clip_frames(
    path: str | Path,
    fps: float,
    frames: FramesConfig,
    want: frozenset[str] = ALL,
    *,
    motion: MotionConfig | None = None,
) -> ClipFrames:
    """Decode the clip at ``path`` once and keep the frames ``want`` asks for.

    Args:
        path: the clip file.
        fps: its frame rate (spaces the flow pairs).
        frames: key/sampled frame settings (``max_side``, ``video_frames``, ``decode_threads``).
        want: the parts to keep (a subset of :data:`ALL`; default: all of them, so ``motion`` is needed).
        motion: flow-pair settings (``sample_fps``, ``short_side``); required when :data:`FLOW` is in
            ``want``, ignored otherwise.

    Raises:
        ValueError: :data:`FLOW` is in ``want`` and no ``motion`` is given (checked before any decoding).
        TooShortError: no frame decodes.
    """
    flow = _flow_settings(want, motion)
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO" if frames.decode_threads != 1 else "SLICE"
        if frames.decode_threads > 1:
            stream.thread_count = frames.decode_threads
        n = _count_frames(path, stream)
        if n <= 0:
            raise TooShortError(f"{path}: no video frames")
        keys = key_indices(n) if KEY in want else {}
        sampled = sampled_indices(n, frames.video_frames) if SAMPLED in want else []
        pairs = flow_pairs(n, fps, flow.sample_fps) if flow is not None else []
        grey_at = set(pairs) | {i + 1 for i in pairs}
        grey_side = flow.short_side if flow is not None else 0  # read only for grey_at frames
        rgb_at = set(keys.values()) | set(sampled)
        last = max(grey_at | rgb_at, default=-1)
        rgb: dict[int, np.ndarray] = {}
        grey: dict[int, np.ndarray] = {}
        decoded = 0
        for i, frame in enumerate(container.decode(stream)):
            decoded = i + 1
            if i in rgb_at:
                w, h = _fit(frame.width, frame.height, frames.max_side)
                rgb[i] = upright(frame.to_ndarray(width=w, height=h, format="rgb24", interpolation="AREA"),
                                 frame.rotation)
            if i in grey_at:
                w, h = _short(frame.width, frame.height, grey_side)
                grey[i] = frame.to_ndarray(width=w, height=h, format="gray", interpolation="AREA")
            if i >= last:
                break
    if decoded == 0:
        raise TooShortError(f"{path}: no frame decodes")
    # A container may claim more frames than decode: fall back to the last decoded one.
    out = ClipFrames(num_frames=min(n, decoded), decoded=want)
    if rgb_at:
        have = sorted(rgb)
        nearest = {i: (i if i in rgb else max([j for j in have if j <= i] or have[:1])) for i in rgb_at}
        out.key = {name: rgb[nearest[i]] for name, i in keys.items()}
        out.sampled_index = sorted({nearest[i] for i in sampled})
        out.sampled = [rgb[i] for i in out.sampled_index]
    out.flow = [(grey[i], grey[i + 1]) for i in pairs if i in grey and i + 1 in grey]
    return out


def frames_for(clip: ClipItem, frames: FramesConfig, want: frozenset[str], *,
               motion: MotionConfig | None = None) -> ClipFrames:
    """The clip's decoded frames: ``clip.frames`` when it covers ``want``, else a decode of just ``want``.

    Args:
        clip: the clip (``clip.frames`` is reused when a frames stage filled it).
        frames: key/sampled frame settings for a decode of its own.
        want: the parts the caller reads.
        motion: flow-pair settings; required when :data:`FLOW` is in ``want`` (even when
            ``clip.frames`` would cover it, so a missing setting never depends on the profile).

    Raises:
        ValueError: :data:`FLOW` is in ``want`` and no ``motion`` is given.
        TooShortError: no frame decodes.
    """
    _flow_settings(want, motion)
    have = clip.frames
    if have is not None and want <= have.decoded:
        return have
    return decode_clip_frames(clip.clip_path, clip.fps, frames, want, motion=motion)


@contextmanager
def decode_errors(clip_path: str | Path | None = None) -> Iterator[None]:
    """Raise the frame-decoding failures of the ``with`` body as the clip's :class:`ItemError`.

    Args:
        clip_path: the clip being decoded; when given, FFmpeg and OS errors become ``decode_failed``
            too, else they propagate unchanged.

    Raises:
        ItemError: ``too_short`` for a :class:`TooShortError`; ``decode_failed`` for ``av.FFmpegError``
            or ``OSError`` when ``clip_path`` is given.
    """
    decode_failures: tuple[type[BaseException], ...] = ()
    if clip_path is not None:
        import av

        decode_failures = (av.FFmpegError, OSError)
    try:
        yield
    except TooShortError as e:
        raise ItemError("too_short", str(e)) from e
    except decode_failures as e:
        raise ItemError("decode_failed", f"cannot decode {clip_path}: {e}") from e
