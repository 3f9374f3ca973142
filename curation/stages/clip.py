"""Clip: write each clip span as its own mp4 by stream copy, snapped to keyframes.

The clip starts at the keyframe at or before (``snap="before"``, default) or at
or after (``"after"``) the span start (give or take ``keyframe_slack`` frames), and ends at the last decodable point
≤ the span end (see :mod:`curation.remux`). The frames and times actually
written are recorded in ``start_frame``/``end_frame`` (exclusive) and
``start_s``/``end_s``, from the packets' real timestamps. For a variable-frame-rate
source whose average rate does not describe this span (off by more than half
a frame over the clip), ``fps`` becomes the clip's own mean rate, so
``(end_s - start_s) * fps`` is its frame count. Quarantine codes:
``no_keyframe`` (no clip possible), ``unsupported_codec`` (an mp4 cannot hold
the source's codec, e.g. VP8 from a WebM: clips are never re-encoded),
``copy_failed``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from curation.config import ClipConfig
from curation.items import ClipItem, Item
from curation.stages.base import ItemError, Resources, Stage

if TYPE_CHECKING:
    from curation.remux import PacketIndex


class ClipStage(Stage):
    """Stream-copy every kept clip span to ``<out_dir>/<clip_id>.mp4``."""

    name: ClassVar[str] = "clip"
    requires: ClassVar[frozenset[str]] = frozenset({"clip_id", "source_path", "span_start", "span_end"})
    populates: ClassVar[frozenset[str]] = frozenset(
        {"start_frame", "end_frame", "start_s", "end_s", "clip_path", "fps"}
    )
    resources: ClassVar[Resources] = Resources(cpus=1.0)
    consumes: ClassVar[type[Item]] = ClipItem

    def __init__(self, config: ClipConfig, out_dir: str | Path) -> None:
        self.config = config
        self.out_dir = Path(out_dir)

    def process(self, batch: list[Item]) -> list[Item]:
        """Write each clip (the packet index is read once per source per batch)."""
        from curation.remux import index_packets

        indexes: dict[str, PacketIndex] = {}
        for clip in batch:
            assert isinstance(clip, ClipItem)
            if clip.source_path not in indexes:
                indexes[clip.source_path] = index_packets(clip.source_path)
            self.write(clip, indexes[clip.source_path])
        return batch

    def write(self, clip: ClipItem, index: PacketIndex) -> None:
        """Write one clip and record what was written.

        Raises:
            ItemError: ``no_keyframe``, ``unsupported_codec`` or ``copy_failed``.
        """
        from curation.remux import UnsupportedCodecError, copy_span, plan_span

        plan = plan_span(index, clip.span_start, clip.span_end, self.config.snap, self.config.keyframe_slack)
        if plan is None:
            raise ItemError(
                "no_keyframe",
                f"no keyframe {self.config.snap} frame {clip.span_start} allows a clip of "
                f"[{clip.span_start}, {clip.span_end})",
            )
        a, b = plan
        dest = self.out_dir / f"{clip.clip_id}.mp4"
        try:
            copy_span(clip.source_path, dest, index, a, b)
        except UnsupportedCodecError as e:
            raise ItemError("unsupported_codec", str(e)) from e
        except ValueError as e:
            raise ItemError("copy_failed", str(e)) from e
        clip.start_frame, clip.end_frame = a, b
        clip.start_s, clip.end_s = index.seconds(a), index.seconds(b)
        rate = index.rate(a, b)
        if rate is not None and abs(float(rate) - clip.fps) * (clip.end_s - clip.start_s) > 0.5:
            clip.fps = float(rate)  # variable frame rate: the source's average does not hold here
        clip.clip_path = str(dest)
