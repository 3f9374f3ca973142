"""The job store: the only code that touches the serving tables.

Every public method runs in ONE managed session (commit on success, rollback
on error, always closed) and returns the frozen values of
:mod:`services.serving.entities`. Writes that check before they change
(submit: idempotency key, per-owner quota, queue bound; claims) are serial:
they run under ``BEGIN IMMEDIATE`` on SQLite and, on PostgreSQL, under a
transaction-scoped advisory lock (submits) or ``FOR UPDATE SKIP LOCKED`` row
locks (claims, in :mod:`.queue`). Tokens live in :mod:`.tokens` and the
worker side of the queue in :mod:`.queue`, mixed in here.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.registry.models import utcnow
from services.serving import db
from services.serving.entities import FINAL_STATES, Job, JobState
from services.serving.errors import (
    IdempotencyConflictError,
    InvalidParameterError,
    JobFinishedError,
    JobNotFoundError,
    QueueFullError,
    QuotaExceededError,
    SchemaOutOfDateError,
)
from services.serving.models import JobInputRow, JobRow
from services.serving.queue import QueueMixin
from services.serving.tokens import TokenMixin
from vidforge.db import Database
from vidforge.ids import secret_id

if TYPE_CHECKING:
    from vidforge.settings import Settings

T = TypeVar("T")
MAX_PAGE = 100
_SUBMIT_LOCK = 0x7669_6466_6A6F_6273  # "vidfjobs": advisory-lock key of submissions on PostgreSQL


@dataclass(frozen=True)
class NewJob:
    """What a submit stores: the owner, resolved params, the resized input (PNG) and the request's identity.

    ``request_hash`` identifies the request (image bytes and fields as sent) for
    ``Idempotency-Key`` replays; ``total_steps`` is the number of denoising steps.
    """

    owner: str
    params: dict[str, Any]
    total_steps: int
    image_png: bytes
    request_hash: str
    idempotency_key: str | None = None
    return_frames: bool = False


@dataclass(frozen=True)
class SubmitLimits:
    """Bounds a submit is checked against; ``retry_after_s`` goes into the 429's ``Retry-After``."""

    max_queued: int
    max_active_per_owner: int
    retry_after_s: float = 5.0


@dataclass(frozen=True)
class JobPage:
    """One page of a listing, newest first; ``next_cursor`` is None on the last page."""

    jobs: list[Job]
    next_cursor: str | None


def _encode_cursor(job: Job) -> str:
    raw = json.dumps([job.created_at.isoformat(), job.job_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, job_id = json.loads(raw)
        when = datetime.fromisoformat(at)
        if not isinstance(job_id, str) or when.tzinfo is None:
            raise ValueError(cursor)
        return when, job_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as e:
        raise InvalidParameterError(f"cursor={cursor[:80]!r} is not a cursor this service returned") from e


class JobStore(TokenMixin, QueueMixin):
    """Jobs, their inputs and the service's tokens in the database at ``db_url``. Thread-safe."""

    def __init__(self, db_url: str) -> None:
        """Connect to ``db_url``.

        Raises:
            SchemaOutOfDateError: the database is not at this code's serving head;
                the message says to run ``vidforge serving upgrade``.
        """
        self._db = Database(
            db_url,
            db.MIGRATIONS,
            what="serving",
            upgrade_hint="run `vidforge serving upgrade` (or set serving.db_auto_upgrade)",
            error=SchemaOutOfDateError,
        )
        self.db_url = self._db.url

    @classmethod
    def open(cls, db_url: str, upgrade: bool = True) -> JobStore:
        """A store on ``db_url``, first migrating it to head when ``upgrade`` is true."""
        if upgrade:
            db.upgrade(db_url)
        return cls(db_url)

    @classmethod
    def from_settings(cls, settings: Settings) -> JobStore:
        """The store at ``settings.serving.db_url`` (migrated when ``serving.db_auto_upgrade``)."""
        return cls.open(settings.serving.db_url, upgrade=settings.serving.db_auto_upgrade)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._db.dialect

    def dispose(self) -> None:
        """Close pooled connections (the store reconnects when used again)."""
        self._db.dispose()

    def _run(self, op: Callable[[Session], T], write: bool = False) -> T:
        """Run ``op`` in one managed session (a serial one when ``write``)."""
        with (self._db.writers if write else self._db.sessions)() as session, session.begin():
            return op(session)

    # ---- client side -------------------------------------------------------------------------

    def submit(self, new: NewJob, limits: SubmitLimits) -> tuple[Job, bool]:
        """Store a queued job; returns ``(job, replayed)``.

        A known ``(owner, idempotency_key)`` returns the job it created before
        (``replayed`` True) when ``request_hash`` matches, whatever the bounds say now.

        Raises:
            IdempotencyConflictError: the key was used with another request.
            QuotaExceededError: the owner has ``max_active_per_owner`` queued/running jobs.
            QueueFullError: ``max_queued`` jobs wait already.
        """

        def op(s: Session) -> tuple[Job, bool]:
            if self.dialect == "postgresql":
                s.execute(select(func.pg_advisory_xact_lock(_SUBMIT_LOCK)))
            if new.idempotency_key is not None:
                found = s.scalar(select(JobRow).where(
                    JobRow.owner == new.owner, JobRow.idempotency_key == new.idempotency_key))
                if found is not None:
                    if found.request_hash != new.request_hash:
                        raise IdempotencyConflictError(
                            f"Idempotency-Key {new.idempotency_key!r} was used for job {found.id} with a different "
                            "request; use a new key for a new request"
                        )
                    return found.to_entity(), True
            active = s.scalar(select(func.count()).select_from(JobRow).where(
                JobRow.owner == new.owner, JobRow.state.in_(("queued", "running")))) or 0
            if active >= limits.max_active_per_owner:
                raise QuotaExceededError(
                    f"you have {active} queued or running jobs; the limit is {limits.max_active_per_owner}",
                    limits.retry_after_s,
                )
            queued = s.scalar(select(func.count()).select_from(JobRow).where(JobRow.state == "queued")) or 0
            if queued >= limits.max_queued:
                raise QueueFullError(f"the job queue is full ({queued} waiting); retry later", limits.retry_after_s)
            row = JobRow(
                id=secret_id("job"), owner=new.owner, state="queued", idempotency_key=new.idempotency_key,
                request_hash=new.request_hash, params=new.params, return_frames=new.return_frames, model_name="",
                model_version=None, model_sha256="", step=0, total_steps=new.total_steps, attempts=0,
                cancel_requested=False, error_code="", error="", retryable=False, replica_id="", claim_token="",
                lease_expires_at=None, created_at=utcnow(), started_at=None, finished_at=None, expires_at=None,
                results_deleted_at=None, video_key="", frames_key="",
            )
            s.add(row)
            s.flush()
            s.add(JobInputRow(job_id=row.id, image=new.image_png))
            return row.to_entity(), False

        try:
            return self._run(op, write=True)
        except IntegrityError:  # the same key raced in from another replica: answer as a replay
            if new.idempotency_key is None:
                raise
            return self._run(op, write=True)

    def get(self, job_id: str, owner: str | None = None) -> Job:
        """The job ``job_id`` (only if ``owner`` owns it, unless ``owner`` is None).

        Raises:
            JobNotFoundError: no such job, or another owner's (the same answer: ids do not leak).
        """
        return self._run(lambda s: self._require(s, job_id, owner).to_entity())

    @staticmethod
    def _require(s: Session, job_id: str, owner: str | None, lock: bool = False) -> JobRow:
        query = select(JobRow).where(JobRow.id == job_id)
        row = s.scalar(query.with_for_update() if lock else query)
        if row is None or (owner is not None and row.owner != owner):
            raise JobNotFoundError(f"no job {job_id!r}")
        return row

    def list_jobs(
        self, owner: str, state: JobState | None = None, limit: int = 20, cursor: str | None = None
    ) -> JobPage:
        """``owner``'s jobs, newest first, ``limit`` (1..100) per page, optionally only those in ``state``.

        Raises:
            InvalidParameterError: ``limit`` out of range, or a cursor this store did not issue.
        """
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidParameterError(f"limit={limit} is out of range 1..{MAX_PAGE}")
        after = _decode_cursor(cursor) if cursor else None

        def op(s: Session) -> JobPage:
            query = select(JobRow).where(JobRow.owner == owner)
            if state is not None:
                query = query.where(JobRow.state == state.value)
            if after is not None:
                at, last_id = after
                query = query.where(or_(JobRow.created_at < at, and_(JobRow.created_at == at, JobRow.id < last_id)))
            rows = list(s.scalars(query.order_by(JobRow.created_at.desc(), JobRow.id.desc()).limit(limit + 1)))
            jobs = [r.to_entity() for r in rows[:limit]]
            return JobPage(jobs, _encode_cursor(jobs[-1]) if len(rows) > limit else None)

        return self._run(op)

    def cancel(self, job_id: str, owner: str | None) -> Job:
        """Cancel a job: a queued one ends now; a running one is flagged and its worker stops at the next step.

        Flagging twice is harmless. Raises:
            JobNotFoundError: no such job of ``owner``'s.
            JobFinishedError: the job already ended.
        """

        def op(s: Session) -> Job:
            row = self._require(s, job_id, owner, lock=True)
            if JobState(row.state) in FINAL_STATES:
                raise JobFinishedError(f"job {job_id} already {row.state}")
            row.cancel_requested = True
            if row.state == JobState.QUEUED:
                row.state, row.finished_at = JobState.CANCELLED.value, utcnow()
                row.error_code, row.error = "cancelled", "cancelled before it started"
                s.execute(delete(JobInputRow).where(JobInputRow.job_id == job_id))
            return row.to_entity()

        return self._run(op, write=True)

    def counts(self) -> dict[JobState, int]:
        """Number of jobs in each state (every owner, every replica)."""

        def op(s: Session) -> dict[JobState, int]:
            found = {state: n for state, n in s.execute(select(JobRow.state, func.count()).group_by(JobRow.state))}
            return {state: int(found.get(state.value, 0)) for state in JobState}

        return self._run(op)

    def depth(self) -> int:
        """Jobs waiting to run (every replica)."""
        return self._run(lambda s: int(s.scalar(
            select(func.count()).select_from(JobRow).where(JobRow.state == "queued")) or 0))
