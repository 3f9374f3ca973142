"""Probe: open a source with PyAV and read its geometry and length.

Quarantine codes: ``not_found``, ``empty_file``, ``unreadable`` (no container
could be opened), ``not_a_video`` (a still image, e.g. a PNG named ``.mp4``),
``no_video_stream`` (none, or only cover art), ``no_frames`` (opens, but no
frame decodes — e.g. truncated before the first frame), ``truncated`` (the
container's index lists more frames than the file holds, or demuxing fails).

FFmpeg picks the demuxer by content, so a valid video with the wrong extension
(Matroska or AVI named ``.mp4``) is probed like any other. The probe reads the
file once, front to back, and never seeks: files without a seek index (Matroska
without Cues, FLV without keyframe metadata) answer a seek with EPERM, see
:mod:`curation.media.seeking`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from curation.items import Item, SourceItem
from curation.stages.base import ItemError, Resources, Stage

if TYPE_CHECKING:
    import av
    from av.container import InputContainer
    from av.video.stream import VideoStream


class ProbeStage(Stage):
    """Fill ``fps``, ``width``, ``height``, ``num_frames`` and ``duration_s`` of each source."""

    name: ClassVar[str] = "probe"
    requires: ClassVar[frozenset[str]] = frozenset({"source_path"})
    populates: ClassVar[frozenset[str]] = frozenset(
        {"fps", "width", "height", "num_frames", "duration_s", "rotation"}
    )
    resources: ClassVar[Resources] = Resources(cpus=1.0)
    consumes: ClassVar[type[Item]] = SourceItem

    def process(self, batch: list[Item]) -> list[Item]:
        """Probe every source; raises :class:`ItemError` for an unusable one."""
        for item in batch:
            assert isinstance(item, SourceItem)
            probe_source(item)
        return batch


def probe_source(item: SourceItem) -> None:
    """Probe ``item.source_path`` in place.

    ``num_frames`` counts the video packets (one per frame, no decoding);
    ``fps`` is the stream's average rate; ``duration_s = num_frames / fps``.
    ``rotation`` is the display rotation of the first frame (counter-clockwise
    degrees, PyAV's ``VideoFrame.rotation``: 0, 90, 180 or -90), and
    ``width``/``height`` are the displayed (upright) size: swapped from the coded
    size when the rotation is ±90°.

    Raises:
        ItemError: with one of the module's quarantine codes.
    """
    import av

    path = Path(item.source_path)
    if not path.is_file():
        raise ItemError("not_found", f"no such file: {path}")
    if path.stat().st_size == 0:
        raise ItemError("empty_file", f"zero-byte file: {path}")
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as e:
        raise ItemError("unreadable", f"cannot open {path}: {e}") from e
    with container:
        fmt = container.format.name
        if fmt == "image2" or fmt.endswith("_pipe"):
            raise ItemError("not_a_video", f"{path} is a still image ({fmt}), not a video")
        if not container.streams.video:
            raise ItemError("no_video_stream", f"{path} has no video stream")
        stream = container.streams.video[0]
        if stream.disposition & av.stream.Disposition.attached_pic:
            raise ItemError("no_video_stream", f"{path} has no video stream, only cover art")
        first, sizes = _first_frame_and_packets(container, stream, path)
        count = sum(1 for size in sizes if size)
        listed = int(stream.frames or 0)  # the container's index (mp4: moov), 0 when it has none
        if listed > len(sizes):
            raise ItemError("truncated", f"{path} is cut off: its index lists {listed} frames, the file holds "
                                         f"{len(sizes)}")
        rate = stream.average_rate or stream.guessed_rate
        if not rate or count == 0:
            raise ItemError("no_frames", f"{path} has no frame rate or no frames")
        item.fps = float(rate)
        rotation = int(first.rotation) % 360
        item.rotation = rotation - 360 if rotation > 180 else rotation
        width, height = int(stream.width), int(stream.height)
        item.width, item.height = (height, width) if rotation in (90, 270) else (width, height)
        item.num_frames = count
        item.duration_s = count / item.fps


def _first_frame_and_packets(
    container: InputContainer, stream: VideoStream, path: Path
) -> tuple[av.VideoFrame, list[int]]:
    """One pass over the stream: the first decoded frame, and the size of every packet.

    Packets are counted when they hold data or carry a pts (an indexed empty sample), not the
    end-of-stream flush. Only the packets up to the first frame are decoded. One pass, no seek
    back to the start: files without a seek index cannot seek (see :mod:`curation.media.seeking`).

    Raises:
        ItemError: ``no_frames`` when no frame decodes (or demuxing fails before one does),
            ``truncated`` when demuxing fails after it.
    """
    import av

    first: av.VideoFrame | None = None
    sizes: list[int] = []
    try:
        for packet in container.demux(stream):
            if packet.size or packet.pts is not None:
                sizes.append(packet.size)
            if first is None:
                first = next(iter(packet.decode()), None)
    except av.FFmpegError as e:
        if first is None:
            raise ItemError("no_frames", f"no frame of {path} decodes: {e!r}") from e
        raise ItemError("truncated", f"{path} is cut off mid-stream: {e}") from e
    if first is None:
        raise ItemError("no_frames", f"no frame of {path} decodes")
    return first, sizes
