"""Clip: write each clip span as its own mp4, never holding a frame from outside the span.

``clip.mode: copy`` (default) stream-copies where a keyframe allows it (no re-encode, no quality
loss). With ``snap: exact`` (default) the clip starts exactly at the span start:

- ``copy``: a keyframe lies at the span start (or at most ``keyframe_slack`` frames after it —
  an encoder's keyframe at a cut detected a frame or two early; the clip then starts there);
- ``smart_cut``: the keyframe before the span start lies in another shot (or in the previous
  piece of a long one), so only the head up to the first keyframe inside the span is re-encoded
  and the rest stream-copied (:mod:`curation.media.smartcut`; with ``clip.smart_cut``);
- ``reencode``: no smart cut is possible (no IDR keyframe inside the span, an open GOP, a
  codec other than H.264): the whole span is decoded and encoded (:mod:`curation.media.reencode`).

With ``snap: after`` the clip starts at the first keyframe inside the span (the head is dropped;
pure stream copy). Either way a copied clip ends at the last decodable point ≤ the span end
(see :mod:`curation.media.remux`). ``clip.mode: reencode`` re-encodes every span exactly.
In copy mode, a codec an mp4 cannot hold (VP8 from a WebM) is re-encoded the same way
when ``clip.reencode_unsupported`` is set, and quarantined otherwise.

The frames and times actually written are recorded in ``start_frame``/``end_frame``
(exclusive) and ``start_s``/``end_s``, from the packets' real timestamps; ``write_mode`` says
which path wrote the file, and ``codec``, ``size_bytes`` and ``sha256`` describe it. For a
variable-frame-rate source whose average rate does not describe this span (off by
more than half a frame over the clip), ``fps`` becomes the clip's own mean rate, so
``(end_s - start_s) * fps`` is its frame count. A written clip shorter than
``min_clip_s`` (the split stage's minimum; ``snap: after`` can shorten a span that
passed the split) is filtered ``clip:too_short``. Quarantine codes:
``no_keyframe`` (``snap: after``: no keyframe inside the span), ``unsupported_codec`` (copy: an mp4
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
from vidforge.digest import sha256_file
from vidforge.logging import get_logger

if TYPE_CHECKING:
    from curation.media.remux import PacketIndex

log = get_logger(__name__)


class ClipStage(Stage):
    """Write every kept clip span to ``<out_dir>/<clip_id>.mp4`` (stream copy or re-encode)."""

    name: ClassVar[str] = "clip"
    requires: ClassVar[frozenset[str]] = frozenset({"clip_id", "source_path", "span_start", "span_end"})
    populates: ClassVar[frozenset[str]] = frozenset(
        {"start_frame", "end_frame", "start_s", "end_s", "clip_path", "fps", "write_mode", "codec", "size_bytes",
         "sha256"}
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
            (a, b), clip.write_mode = self._reencode(clip, index, dest), "reencode"
        else:
            (a, b), clip.write_mode = self._copy(clip, index, dest)
        assert clip.span_start <= a < b <= clip.span_end, f"{clip.clip_id}: wrote [{a}, {b}) outside its span"
        clip.start_frame, clip.end_frame = a, b
        clip.codec, clip.size_bytes, clip.sha256 = describe_file(dest)
        clip.start_s, clip.end_s = index.seconds(a), index.seconds(b)
        rate = index.rate(a, b)
        if rate is not None and abs(float(rate) - clip.fps) * (clip.end_s - clip.start_s) > 0.5:
            clip.fps = float(rate)  # variable frame rate: the source's average does not hold here
        clip.clip_path = str(dest)
        if clip.end_s - clip.start_s < self.min_clip_s - 0.5 / max(clip.fps, 1.0):
            # the split stage judged the requested span; keyframe snapping can make the written one shorter
            clip.filter_out("clip:too_short")

    def _copy(self, clip: ClipItem, index: PacketIndex, dest: Path) -> tuple[tuple[int, int], str]:
        """Stream-copy where a keyframe allows, else smart-cut or re-encode; return the span and the path taken."""
        from curation.media.remux import UnsupportedCodecError, copy_span, plan_span

        start, end = clip.span_start, clip.span_end
        if self.config.snap == "after":
            plan = plan_span(index, start, end, "after", 0)
            if plan is None:
                raise ItemError("no_keyframe", f"no keyframe inside [{start}, {end}) starts a decodable clip")
        else:
            plan = plan_span(index, start, end, "before", self.config.keyframe_slack)
            if plan is None or plan[0] < start:  # the keyframe before the span lies outside it
                return self._exact(clip, index, dest)
        try:
            copy_span(clip.source_path, dest, index, *plan)
        except UnsupportedCodecError as e:
            if not self.config.reencode_unsupported:
                raise ItemError("unsupported_codec", str(e)) from e
            log.info("re-encoding a clip stream copy cannot write", clip_id=clip.clip_id, error=str(e))
            return self._reencode(clip, index, dest), "reencode"
        except ValueError as e:
            raise ItemError("copy_failed", str(e)) from e
        return plan, "copy"

    def _exact(self, clip: ClipItem, index: PacketIndex, dest: Path) -> tuple[tuple[int, int], str]:
        """A span no keyframe starts: smart cut when possible (and enabled), else a full re-encode."""
        import av

        from curation.media.smartcut import smart_cut

        if self.config.smart_cut:
            try:
                span = smart_cut(clip.source_path, dest, index, clip.span_start, clip.span_end, crf=self.config.crf,
                                 preset=self.config.preset, threads=self.config.threads)
            except (ValueError, av.FFmpegError) as e:
                log.info("smart cut failed: re-encoding the clip", clip_id=clip.clip_id, error=str(e))
                span = None
            if span is not None:
                return span, "smart_cut"
        return self._reencode(clip, index, dest), "reencode"

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


def describe_file(path: str | Path) -> tuple[str, int, str]:
    """``(video codec, size in bytes, sha256 hex)`` of a written clip."""
    import av

    with av.open(str(path)) as container:
        codec = container.streams.video[0].codec_context.name
    return codec, Path(path).stat().st_size, sha256_file(path)
