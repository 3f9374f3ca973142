"""Plain, frozen values the job store returns: jobs, claimed jobs, tokens.

They hold no ORM state, so they cross threads freely. Times are UTC-aware;
durations are seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class JobState(StrEnum):
    """Lifecycle of a job: ``queued`` → ``running`` → ``succeeded`` | ``failed`` | ``cancelled``.

    A running job whose replica was lost goes back to ``queued`` (while it has
    attempts left) or ends ``failed`` with ``retryable`` set.
    """

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})
ACTIVE_STATES = frozenset({JobState.QUEUED, JobState.RUNNING})


@dataclass(frozen=True)
class ModelStamp:
    """The model version that produced (or is producing) a job."""

    name: str
    version: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form (also written into the mp4's metadata)."""
        return {"name": self.name, "version": self.version, "sha256": self.sha256}


@dataclass(frozen=True)
class Job:
    """A consistent snapshot of one job.

    ``params`` are the resolved generation parameters (defaults filled in) as
    stored at submit; ``model`` is None until a worker started the job.
    ``error_code`` is a short stable code (``deadline_exceeded``,
    ``worker_lost``, ``generation_failed``, ``cancelled``...) and ``retryable``
    says whether submitting the same request again may succeed.
    """

    job_id: str
    owner: str
    state: JobState
    params: dict[str, Any]
    return_frames: bool
    idempotency_key: str | None
    model: ModelStamp | None
    step: int
    total_steps: int
    attempts: int
    cancel_requested: bool
    error_code: str
    error: str
    retryable: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    expires_at: datetime | None
    results_deleted: bool
    video_key: str
    frames_key: str

    @property
    def queued_s(self) -> float | None:
        """Seconds from submit to (the last) start; None while queued."""
        return (self.started_at - self.created_at).total_seconds() if self.started_at else None

    @property
    def run_s(self) -> float | None:
        """Seconds from start to finish; None until finished after running."""
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


@dataclass(frozen=True)
class ClaimedJob:
    """A job a worker claimed: the job, its input image (PNG bytes) and the claim's secret token.

    Every later write about the job (progress, finish) must present ``claim_token``;
    a write with a stale token (the job was recovered and claimed again) is ignored.
    """

    job: Job
    image_png: bytes
    claim_token: str


@dataclass(frozen=True)
class TokenInfo:
    """A serving API token (never its value)."""

    name: str
    scopes: tuple[str, ...]
    created_by: str
    created_at: datetime
    revoked_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "name": self.name, "scopes": list(self.scopes), "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }
