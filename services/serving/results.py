"""Job results in the object store: ``<results_prefix>/<job_id>/a<attempt>/{video.mp4,frames.zip}``.

Results are keyed by job id and attempt, so a run that lost its claim (and
whose job was run again elsewhere) never overwrites the new run's files. Each
succeeded job records its keys and an expiry; :mod:`.maintenance` deletes a
job's whole prefix after it expires, and any prefix whose job does not need it
(orphans: a replica died between upload and record, or a run was abandoned).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vidforge.store import ObjectStore

VIDEO = "video.mp4"
FRAMES = "frames.zip"


@dataclass(frozen=True)
class Download:
    """A result to send: a local ``path`` (local store) or its ``data`` (remote store)."""

    path: Path | None = None
    data: bytes | None = None


class ResultStore:
    """Where job results live (``store`` under ``prefix``)."""

    def __init__(self, store: ObjectStore, prefix: str) -> None:
        self.store = store
        self.prefix = prefix.strip("/")

    def job_prefix(self, job_id: str) -> str:
        """The key prefix of every result of ``job_id``."""
        return f"{self.prefix}/{job_id}"

    def key(self, job_id: str, attempt: int, name: str) -> str:
        """The key of result ``name`` (``video.mp4``, ``frames.zip``) of one attempt."""
        return f"{self.job_prefix(job_id)}/a{attempt}/{name}"

    def put_file(self, src: Path, key: str) -> str:
        """Upload a local file to ``key``; return the key."""
        self.store.put_file(src, key)
        return key

    def put_bytes(self, data: bytes, key: str) -> str:
        """Upload ``data`` to ``key``; return the key."""
        self.store.put_bytes(key, data)
        return key

    def open(self, key: str) -> Download:
        """A result for sending (a path when the store is local). Raises FileNotFoundError."""
        local = self.store.local_path(key)
        if local is not None:
            if not local.is_file():
                raise FileNotFoundError(key)
            return Download(path=local)
        return Download(data=self.store.get_bytes(key))

    def delete_job(self, job_id: str) -> int:
        """Delete every result of ``job_id``; return how many objects went."""
        return self.store.delete_prefix(self.job_prefix(job_id))

    def job_ids(self, limit: int = 10_000) -> list[str]:
        """Job ids that have objects under the prefix (at most ``limit``, for the orphan sweep)."""
        seen: dict[str, None] = {}
        start = len(self.prefix) + 1
        for key in self.store.list(self.prefix):
            seen.setdefault(key[start:].split("/", 1)[0], None)
            if len(seen) >= limit:
                break
        return list(seen)
