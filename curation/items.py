"""The items that flow through curation: a source video, and the clips it fans out into.

A :class:`SourceItem` is one input video; the split stage fans it out into
:class:`ClipItem` children (``clip.source_id == source.source_id``). Every item
ends in exactly one :class:`~vidforge.dataset.Status`; once filtered or
quarantined it is final and later stages never see it again.

Field names are the vocabulary of stage ``requires``/``populates``; the two
levels share one namespace (``fps`` means the same on both). Frame spans are
``[start, end)`` with an exclusive end; times are seconds from the source start.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from vidforge.dataset import CLIP_FIELDS, Status

if TYPE_CHECKING:
    from curation.media.frames import ClipFrames


@dataclass(kw_only=True, eq=False)
class Item:
    """Base of all items: identity, status and why it left the pipeline."""

    level: ClassVar[str] = "item"

    status: Status = Status.KEPT
    #: ``"<stage>:<code>"`` for quarantined items, ``"filter:<name>"`` (or ``"<stage>:<code>"``)
    #: for filtered ones; empty while kept.
    reason: str = ""
    #: The error message of a quarantined item.
    error: str = ""

    @property
    def item_id(self) -> str:
        """Unique id of the item within its level."""
        raise NotImplementedError

    @property
    def parent_id(self) -> str:
        """Id of the item this one was fanned out from ("" for roots)."""
        return ""

    @property
    def kept(self) -> bool:
        """Whether the item is still in the pipeline."""
        return self.status == Status.KEPT

    def quarantine(self, reason: str, error: str = "") -> None:
        """Mark the item as failed: ``reason`` is ``"<stage>:<code>"``."""
        self.status, self.reason, self.error = Status.QUARANTINED, reason, error or reason

    def filter_out(self, reason: str) -> None:
        """Mark the item as removed by a filter: ``reason`` names the filter."""
        self.status, self.reason = Status.FILTERED, reason

    @classmethod
    def field_names(cls) -> frozenset[str]:
        """Every data field of this item type (the requires/populates vocabulary)."""
        return frozenset(f.name for f in dataclasses.fields(cls))


@dataclass(kw_only=True, eq=False)
class SourceItem(Item):
    """One input video. ``source_path`` is a local file (remote sources are fetched first)."""

    level: ClassVar[str] = "source"

    source_id: str
    source_uri: str
    source_path: str
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    num_frames: int | None = None
    duration_s: float | None = None
    #: Display rotation, counter-clockwise degrees (0, 90, 180, -90): the coded frames are turned by
    #: this to show upright (a phone's portrait video: -90). ``width``/``height`` are the upright size.
    rotation: int | None = None
    #: Ascending first frames of new shots (excludes 0).
    cuts: list[int] | None = None
    #: ``source_id`` of the earlier source with the same bytes (this one is filtered, see :mod:`curation.dedup`).
    duplicate_of: str | None = None

    @property
    def item_id(self) -> str:
        return self.source_id


@dataclass(kw_only=True, eq=False)
class ClipItem(Item):
    """One clip of a source. ``shot_*`` is the shot the clip belongs to, ``span_*`` what the splitter
    asked for (the whole shot, or one piece of a shot longer than ``split.max_clip_s``),
    ``start/end_frame`` what was actually written (inside the span: see :mod:`curation.stages.clip`)."""

    level: ClassVar[str] = "clip"

    clip_id: str
    source_id: str
    source_uri: str
    source_path: str
    span_start: int
    span_end: int
    #: The shot ``[shot_start_frame, shot_end_frame)`` (None: the span is the whole shot).
    shot_start_frame: int | None = None
    shot_end_frame: int | None = None
    fps: float
    width: int
    height: int
    #: Display rotation of the source (and of the stream-copied clip), counter-clockwise degrees.
    rotation: int = 0
    start_frame: int | None = None
    end_frame: int | None = None
    start_s: float | None = None
    end_s: float | None = None
    #: Local file of the written clip.
    clip_path: str = ""
    #: How the clip file was written: ``copy`` (stream copy), ``smart_cut`` (head re-encoded, rest copied)
    #: or ``reencode`` ("" before the clip stage).
    write_mode: str = ""
    #: The clip file's video codec (FFmpeg name), size in bytes and sha256 (hex).
    codec: str = ""
    size_bytes: int | None = None
    sha256: str = ""
    #: Object-store URI of the published clip.
    uri: str = ""
    caption_image: str = ""
    caption_video: str = ""
    caption_summary: str = ""
    motion_score: float | None = None
    motion_bucket: int | None = None
    text_area: float | None = None
    aesthetic: float | None = None
    clip_similarity: float | None = None
    #: Decoded frames shared by the signal stages (transient: never in the manifest).
    frames: ClipFrames | None = dataclasses.field(default=None, repr=False)

    @property
    def item_id(self) -> str:
        return self.clip_id

    @property
    def parent_id(self) -> str:
        return self.source_id

    def record(self) -> dict[str, Any]:
        """The manifest row (exactly ``vidforge.dataset.CLIP_FIELDS``).

        Spans not written yet fall back to the requested span.
        """
        row: dict[str, Any] = {}
        for name in CLIP_FIELDS:
            value = getattr(self, name)
            row[name] = value.value if isinstance(value, Status) else value
        if row["start_frame"] is None:
            row["start_frame"], row["end_frame"] = self.span_start, self.span_end
        if row["shot_start_frame"] is None:
            row["shot_start_frame"], row["shot_end_frame"] = self.span_start, self.span_end
        if row["start_s"] is None:
            row["start_s"], row["end_s"] = self.span_start / self.fps, self.span_end / self.fps
        return row


#: Fields every source has before the first stage runs.
INITIAL_FIELDS: frozenset[str] = frozenset({"source_id", "source_uri", "source_path"})
#: Every field name any item type has.
ALL_FIELDS: frozenset[str] = SourceItem.field_names() | ClipItem.field_names()
