"""Decode a video once, at low resolution, into one numpy array.

The decoder can run with frame + slice threading, and FFmpeg scales each frame as it
is decoded (``swscale``, one reused scaler context), so the Python loop only
collects tiny RGB frames into one array. Every consumer (the cut cascade,
TransNetV2) reads the same array.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter

#: TransNetV2's input size (width, height); also the default analysis size of the cut detectors.
TRANSNET_SIZE = (48, 27)


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


#: swscale interpolation: area averaging is cheaper than bilinear for large reductions and does not alias.
INTERPOLATION = "AREA"


def decode_lowres(
    path: str | Path, size: tuple[int, int] = TRANSNET_SIZE, threads: int = 0, fast: bool = True
) -> LowResVideo:
    """Decode every frame of the first video stream of ``path`` at ``size``.

    Each frame is scaled (area averaging) and converted to RGB by FFmpeg's
    ``swscale`` as it is decoded, with one scaler context for the stream, so
    only small frames are ever held: an hour at 48×27 is ~350 MB. (Copying the
    YUV planes out and scaling many frames per cv2 call was measured slower.)

    Args:
        path: a local video file.
        size: output ``(width, height)`` in pixels; aspect ratio is not preserved
            (cut statistics do not need it, and TransNetV2 expects exactly 48×27).
        threads: decoder threads (0 = frame + slice threads, FFmpeg picks the
            count; 1 = no threads, the fastest for small videos and for workers
            that own one CPU).
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
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise ValueError(f"no video stream in {path}")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        if threads != 1:
            stream.thread_type = "AUTO"  # frame + slice threads
        ctx.thread_count = threads
        if fast:
            ctx.options = {"skip_loop_filter": "all", "flags2": "+fast"}
        rate = stream.average_rate
        src_w, src_h = int(ctx.width), int(ctx.height)
        # One reformatter for the whole stream: its scaler context is reused across frames.
        scaler = VideoReformatter()
        frames = [scaler.reformat(frame, width, height, "rgb24", interpolation=INTERPOLATION).to_ndarray()
                  for frame in container.decode(stream)]
    array = np.stack(frames) if frames else np.zeros((0, height, width, 3), np.uint8)
    return LowResVideo(array, float(rate) if rate else 0.0, (src_w, src_h))
