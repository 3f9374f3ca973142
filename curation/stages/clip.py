"""Clip: write each clip span as its own mp4, by keyframe-snapped stream copy or by re-encoding.

``clip.mode: copy`` (default) stream-copies (no re-encode, no quality loss): the clip
starts at the keyframe at or before (``snap="before"``, default) or at or after
(``"after"``) the span start (give or take ``keyframe_slack`` frames), and ends at
the last decodable point ≤ the span end (see :mod:`curation.media.remux`).
``clip.mode: reencode`` decodes exactly the span ``[span_start, span_end)`` and
encodes it with libx264 (see :mod:`curation.media.reencode`), so the clip is frame-exact.
In copy mode, a codec an mp4 cannot hold (VP8 from a WebM) is re-encoded the same way
when ``clip.reencode_unsupported`` is set, and quarantined otherwise.

The frames and times actually written are recorded in ``start_frame``/``end_frame``
(exclusive) and ``start_s``/``end_s``, from the packets' real timestamps. For a
variable-frame-rate source whose average rate does not describe this span (off by
more than half a frame over the clip), ``fps`` becomes the clip's own mean rate, so
``(end_s - start_s) * fps`` is its frame count. A written clip shorter than
``min_clip_s`` (the split stage's minimum; keyframe snapping, ``snap: after``
especially, can shorten a span that passed the split) is filtered
``clip:too_short``. Quarantine codes:
``no_keyframe`` (copy: no clip possible), ``unsupported_codec`` (copy: an mp4
cannot hold the source's codec and ``reencode_unsupported`` is off),
``copy_failed``, ``bad_span`` (reencode: the span is empty or outside the source's
frames), ``reencode_failed`` (the span's frames did not all decode, or encoding failed).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from curation.config import ClipConfig
from curation.items import ClipItem, Item
from curation.stages.base import ItemError, Resources, Stage
from vidforge.logging import get_logger

if TYPE_CHECKING:
    from curation.media.remux import PacketIndex

log = get_logger(__name__)


class ClipStage(Stage):
    """Write every kept clip span to ``<out_dir>/<clip_id>.mp4`` (stream copy or re-encode)."""

    name: ClassVar[str] = "clip"
    requires: ClassVar[frozenset[str]] = frozenset({"clip_id", "source_path", "span_start", "span_end"})
    populates: ClassVar[frozenset[str]] = frozenset(
        {"start_frame", "end_frame", "start_s", "end_s", "clip_path", "fps"}
    )
    resources: ClassVar[Resources] = Resources(cpus=1.0)
    consumes: ClassVar[type[Item]] = ClipItem

    def __init__(self, config: ClipConfig, out_dir: str | Path, min_clip_s: float = 0.0) -> None:
        self.config = config
        self.out_dir = Path(out_dir)
        self.min_clip_s = min_clip_s

    def process(self, batch: list[Item]) -> list[Item]:
        """Write each clip (the packet index is read once per source per batch)."""
        from curation.media.remux import index_packets

        indexes: dict[str, PacketIndex] = {}
        for clip in batch:
            assert isinstance(clip, ClipItem)
            if clip.source_path not in indexes:
                indexes[clip.source_path] = index_packets(clip.source_path)
            self.write(clip, indexes[clip.source_path])
        return batch

    def write(self, clip: ClipItem, index: PacketIndex) -> None:
        """Write one clip (as ``clip.mode`` says) and record what was written.

        Raises:
            ItemError: ``no_keyframe``, ``unsupported_codec``, ``copy_failed``, ``bad_span`` or
                ``reencode_failed``.
        """
        dest = self.out_dir / f"{clip.clip_id}.mp4"
        if self.config.mode == "reencode":
            a, b = self._reencode(clip, index, dest)
        else:
            a, b = self._copy(clip, index, dest)
        clip.start_frame, clip.end_frame = a, b
        clip.start_s, clip.end_s = index.seconds(a), index.seconds(b)
        rate = index.rate(a, b)
        if rate is not None and abs(float(rate) - clip.fps) * (clip.end_s - clip.start_s) > 0.5:
            clip.fps = float(rate)  # variable frame rate: the source's average does not hold here
        clip.clip_path = str(dest)
        if clip.end_s - clip.start_s < self.min_clip_s - 0.5 / max(clip.fps, 1.0):
            # the split stage judged the requested span; keyframe snapping can make the written one shorter
            clip.filter_out("clip:too_short")

    def _copy(self, clip: ClipItem, index: PacketIndex, dest: Path) -> tuple[int, int]:
        """Stream-copy the keyframe-snapped span (re-encode the exact one if mp4 cannot hold the codec)."""
        from curation.media.remux import UnsupportedCodecError, copy_span, plan_span

        plan = plan_span(index, clip.span_start, clip.span_end, self.config.snap, self.config.keyframe_slack)
        if plan is None:
            raise ItemError(
                "no_keyframe",
                f"no keyframe {self.config.snap} frame {clip.span_start} allows a clip of "
                f"[{clip.span_start}, {clip.span_end})",
            )
        try:
            copy_span(clip.source_path, dest, index, *plan)
        except UnsupportedCodecError as e:
            if not self.config.reencode_unsupported:
                raise ItemError("unsupported_codec", str(e)) from e
            log.info("re-encoding a clip stream copy cannot write", clip_id=clip.clip_id, error=str(e))
            return self._reencode(clip, index, dest)
        except ValueError as e:
            raise ItemError("copy_failed", str(e)) from e
        return plan

    def _reencode(self, clip: ClipItem, index: PacketIndex, dest: Path) -> tuple[int, int]:
        """Re-encode exactly ``[span_start, span_end)``."""
        import av

        from curation.media.reencode import BadSpanError, reencode_span

        a, b = clip.span_start, clip.span_end
        try:
            reencode_span(clip.source_path, dest, index, a, b, crf=self.config.crf, preset=self.config.preset,
                          threads=self.config.threads)
        except BadSpanError as e:
            raise ItemError("bad_span", str(e)) from e
        except (ValueError, av.FFmpegError) as e:
            raise ItemError("reencode_failed", str(e)) from e
        return a, b
