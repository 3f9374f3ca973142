"""Probe: open a source with PyAV and read its geometry and length.

Quarantine codes: ``not_found``, ``empty_file``, ``unreadable`` (no container
could be opened), ``no_video_stream``, ``no_frames`` (opens, but no frame
decodes — e.g. truncated before the first frame).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from curation.items import Item, SourceItem
from curation.stages.base import ItemError, Resources, Stage


class ProbeStage(Stage):
    """Fill ``fps``, ``width``, ``height``, ``num_frames`` and ``duration_s`` of each source."""

    name: ClassVar[str] = "probe"
    requires: ClassVar[frozenset[str]] = frozenset({"source_path"})
    populates: ClassVar[frozenset[str]] = frozenset({"fps", "width", "height", "num_frames", "duration_s"})
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
        if not container.streams.video:
            raise ItemError("no_video_stream", f"{path} has no video stream")
        stream = container.streams.video[0]
        try:
            next(iter(container.decode(stream)))
        except (av.FFmpegError, StopIteration) as e:
            raise ItemError("no_frames", f"no frame of {path} decodes: {e!r}") from e
        container.seek(0)
        try:
            count = sum(1 for p in container.demux(stream) if p.size)
        except av.FFmpegError as e:
            raise ItemError("truncated", f"{path} is cut off mid-stream: {e}") from e
        rate = stream.average_rate or stream.guessed_rate
        if not rate or count == 0:
            raise ItemError("no_frames", f"{path} has no frame rate or no frames")
        item.fps = float(rate)
        item.width, item.height = int(stream.width), int(stream.height)
        item.num_frames = count
        item.duration_s = count / item.fps
