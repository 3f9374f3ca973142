"""The audit log's hash chain: how a record's hash is computed, and how the chain is verified.

Each audit record carries ``hash = SHA-256(canonical JSON of its content and
prev_hash)``, where ``prev_hash`` is the previous record's ``hash`` (the first
record's is :data:`GENESIS`). Editing any field of a record breaks its own hash;
deleting or inserting a record breaks the next record's ``prev_hash``; deleting
the newest records is caught by the ``audit_head`` row, which names the last id
and hash. This is tamper *evidence*: someone who can rewrite the whole table and
the head can forge a consistent chain, so export :attr:`ChainReport.head_hash`
somewhere else (a ticket, a log) when an audit needs an anchor.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
"""``prev_hash`` of the first record."""


def record_hash(
    *,
    id: int,
    at: datetime,
    actor: str,
    action: str,
    model_name: str,
    version: int | None,
    details: dict[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 (hex) of one audit record's content, chained to ``prev_hash``.

    The content is serialised as JSON with sorted keys and no whitespace; ``at``
    as ISO-8601 in UTC with microseconds, so the value is the same after a round
    trip through SQLite or PostgreSQL.
    """
    content = {
        "id": id,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "model": model_name,
        "version": version,
        "details": details,
        "prev": prev_hash,
    }
    blob = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    """The outcome of :func:`verify`: ``ok``, or the first broken record and why."""

    ok: bool
    checked: int
    head_id: int
    head_hash: str
    broken_id: int | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "ok": self.ok,
            "checked": self.checked,
            "head_id": self.head_id,
            "head_hash": self.head_hash,
            "broken_id": self.broken_id,
            "reason": self.reason,
        }


def verify(records: Iterable[dict[str, Any]], head_id: int, head_hash: str) -> ChainReport:
    """Recompute the chain over ``records`` (oldest first) and compare it with the head.

    Each record is a mapping with the :func:`record_hash` arguments plus ``hash``.
    Stops at the first broken record: a hash that does not match the content, a
    ``prev_hash`` that does not match the previous record, or a gap in the ids.
    """
    prev, expected_id, checked = GENESIS, 1, 0
    for r in records:
        rid = int(r["id"])
        if rid != expected_id:
            reason = f"record {expected_id} is missing (next record is {rid})"
            return ChainReport(False, checked, head_id, head_hash, expected_id, reason)
        if r["prev_hash"] != prev:
            reason = "its prev_hash does not match the previous record's hash (a record before it was changed)"
            return ChainReport(False, checked, head_id, head_hash, rid, reason)
        fields = {k: r[k] for k in ("id", "at", "actor", "action", "model_name", "version", "details", "prev_hash")}
        if record_hash(**fields) != r["hash"]:
            return ChainReport(False, checked, head_id, head_hash, rid, "its content does not match its hash")
        prev, expected_id, checked = r["hash"], rid + 1, checked + 1
    if checked != head_id or prev != (head_hash if head_id else GENESIS):
        reason = f"the chain ends at record {checked} but the head names record {head_id} (records were deleted)"
        return ChainReport(False, checked, head_id, head_hash, checked + 1, reason)
    return ChainReport(True, checked, head_id, head_hash)
