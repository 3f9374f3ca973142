"""Every reason a stage removes an item for, in one place; anything else is unexpected (likely a bug).

A reason is ``<stage>:<code>``. A stage filters or quarantines an item for one of the
codes in :data:`CODES` (each stage module documents its own): a bad or unusable input
(``probe:truncated``), a clip too short to keep (``split:too_short``), a dataset-wide
filter (``filter:motion_min``). When a stage raises anything else, the runner
(:func:`curation.runner.run_stage`) quarantines the item with ``<stage>:<exception type
in snake case>`` (``probe:permission_error``) and an error naming the stage, the
exception and where it was raised (:func:`unexpected_error`). No stage expects those:
they are more likely bugs in curation than bad inputs, so a run lists them apart
(:func:`unexpected_quarantines`: ``dataset.json`` ``extra["unexpected"]``, the CLI's
funnel summary, the data card).
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from curation.items import ClipItem, Item
from curation.stages.filter import ORDER
from vidforge.dataset import Status

#: Codes the frame readers raise through :func:`curation.media.frames.decode_errors` (``decode_failed`` only
#: when the stage names the clip file).
_NO_FRAMES = frozenset({"too_short"})
_DECODE = _NO_FRAMES | {"decode_failed"}

#: Stage name → every code its items may record (quarantine or filter).
CODES: Mapping[str, frozenset[str]] = {
    "probe": frozenset({"not_found", "empty_file", "unreadable", "not_a_video", "no_video_stream", "no_frames",
                        "truncated", "duplicate"}),
    "split": frozenset({"too_short", "low_resolution"}),
    "clip": frozenset({"too_short", "no_keyframe", "unsupported_codec", "copy_failed", "bad_span",
                       "reencode_failed"}),
    "frames": _NO_FRAMES,
    "motion": _NO_FRAMES,
    "text": _DECODE,
    "captions": _DECODE | {"bad_sidecar"},
    "clip_scores": _NO_FRAMES,
    "filter": frozenset(ORDER),
}
#: Every known reason, ``<stage>:<code>``.
KNOWN_REASONS: frozenset[str] = frozenset(f"{stage}:{code}" for stage, codes in CODES.items() for code in codes)

#: The package whose frames :func:`unexpected_error` names as where an exception was raised.
_PACKAGE = Path(__file__).resolve().parent


def is_known(reason: str) -> bool:
    """Whether ``reason`` is one a stage records on purpose (see :data:`CODES`)."""
    return reason in KNOWN_REASONS


def unexpected_error(stage: str, exc: BaseException) -> str:
    """The error a quarantined item records for an exception its stage did not raise on purpose.

    ``unexpected <Type> in stage '<stage>' (at curation/<file>.py:<line> in <function>): <message>`` —
    the innermost frame in the curation package (else the innermost frame) says where.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if Path(f.filename).resolve().is_relative_to(_PACKAGE)]
    where = ""
    if frames:
        frame = (ours or frames)[-1]
        path = Path(frame.filename)
        name = path.resolve().relative_to(_PACKAGE.parent) if ours else path.name
        where = f" (at {name}:{frame.lineno} in {frame.name})"
    return f"unexpected {type(exc).__name__} in stage {stage!r}{where}: {exc}"


def unexpected_quarantines(items: Sequence[Item]) -> list[dict[str, Any]]:
    """Every quarantined item whose reason no stage expects: ``{"level", "id", "source_uri", "reason", "error"}``.

    ``id`` is the source's URI for a source, the clip id for a clip; sources first, then clips, each in order.
    """
    out = [
        {"level": it.level, "id": it.clip_id if isinstance(it, ClipItem) else getattr(it, "source_uri", it.item_id),
         "source_uri": getattr(it, "source_uri", ""), "reason": it.reason, "error": it.error}
        for it in items if it.status == Status.QUARANTINED and not is_known(it.reason)
    ]
    return sorted(out, key=lambda row: row["level"] != "source")
