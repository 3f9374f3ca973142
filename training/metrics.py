"""``metrics.jsonl`` of a stage: one JSON object per logged optimizer step."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from vidforge.store import ObjectStore


class MetricsLog:
    """``metrics.jsonl``: one JSON object per logged step, appended locally.

    ``rows`` seeds the file (a resumed stage keeps the rows up to its resume step).
    """

    def __init__(self, path: Path, rows: list[dict[str, Any]] | None = None) -> None:
        self.path = path
        self.path.write_text("".join(json.dumps(r) + "\n" for r in rows or []))

    def write(self, row: dict[str, Any]) -> None:
        """Append one row."""
        with self.path.open("a") as f:
            f.write(json.dumps(row) + "\n")


def metrics_until(store: ObjectStore, key: str, step: int) -> list[dict[str, Any]]:
    """Rows of a stored ``metrics.jsonl`` with ``step`` ≤ ``step`` (none when absent)."""
    if not store.exists(key):
        return []
    rows = [json.loads(line) for line in store.get_bytes(key).decode().splitlines() if line.strip()]
    return [r for r in rows if r.get("step", 0) <= step]
