from __future__ import annotations

from curation.items import ALL_FIELDS, INITIAL_FIELDS, ClipItem, SourceItem
from vidforge.dataset import CLIP_FIELDS, Status


def _clip() -> ClipItem:
    return ClipItem(clip_id="c", source_id="s", source_uri="file:///x.mp4", source_path="/x.mp4",
                    span_start=24, span_end=72, fps=24.0, width=160, height=120)


def test_record_has_exactly_the_clip_fields() -> None:
    row = _clip().record()
    assert tuple(row) == CLIP_FIELDS
    assert (row["start_frame"], row["end_frame"]) == (24, 72)
    assert (row["start_s"], row["end_s"]) == (1.0, 3.0)
    assert row["status"] == "kept" and isinstance(row["status"], str)


def test_status_transitions_and_identity() -> None:
    clip = _clip()
    assert clip.kept and clip.item_id == "c" and clip.parent_id == "s"
    clip.quarantine("motion:too_short", "boom")
    assert (clip.status, clip.reason, clip.error, clip.kept) == (Status.QUARANTINED, "motion:too_short",
                                                                 "boom", False)
    src = SourceItem(source_id="s", source_uri="u", source_path="/p")
    src.filter_out("filter:x")
    assert src.status == Status.FILTERED and src.item_id == "s" and src.parent_id == ""


def test_field_vocabulary() -> None:
    assert SourceItem.field_names() >= INITIAL_FIELDS
    assert set(CLIP_FIELDS) <= ClipItem.field_names() <= ALL_FIELDS
