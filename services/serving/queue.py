"""The worker side of the job store: claim, progress, finish, recover lost jobs, expire results.

Mixed into :class:`~services.serving.store.JobStore`. A claim is row-level:
``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL (replicas skip each other's
locked rows), ``BEGIN IMMEDIATE`` plus a conditional ``UPDATE ... WHERE
state = 'queued'`` on SQLite (one writer at a time) — so two replicas on one
database never run the same job at once. Each claim gets a random
``claim_token`` and a lease (``lease_expires_at``) that its replica renews;
every later write presents the token, so a replica that lost its lease (and
whose job was recovered and claimed again) cannot overwrite the new run.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from services.registry.models import utcnow
from services.serving.entities import ClaimedJob, Job, JobState, ModelStamp
from services.serving.models import JobInputRow, JobRow

T = TypeVar("T")
WORKER_LOST = "worker_lost"


@dataclass(frozen=True)
class Outcome:
    """How a run ended: the final state and, for a success, where its results are and when they expire."""

    state: JobState
    error_code: str = ""
    error: str = ""
    retryable: bool = False
    video_key: str = ""
    frames_key: str = ""
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Recovery:
    """Jobs found running without a live lease: put back in the queue, or failed (retryable)."""

    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)


class QueueMixin:
    """Worker-side operations of the job store."""

    _run: Callable[..., Any]
    dialect: str

    def claim(self, replica_id: str, model: ModelStamp, started_at: datetime, lease_s: float) -> ClaimedJob | None:
        """Claim the oldest queued job for ``model`` on ``replica_id``; None when none is queued.

        ``started_at`` is recorded as the job's start (the caller takes it when it
        picked ``model``, so the stamp and the time agree); attempts count up by one.
        """
        def op(s: Session) -> ClaimedJob | None:
            query = (select(JobRow.id).where(JobRow.state == "queued")
                     .order_by(JobRow.created_at, JobRow.id).limit(1))
            if self.dialect == "postgresql":
                query = query.with_for_update(skip_locked=True)
            job_id = s.scalar(query)
            if job_id is None:
                return None
            token = secrets.token_hex(16)
            done = s.execute(
                update(JobRow).where(JobRow.id == job_id, JobRow.state == "queued").values(
                    state="running", claim_token=token, replica_id=replica_id, started_at=started_at,
                    lease_expires_at=utcnow() + timedelta(seconds=lease_s), attempts=JobRow.attempts + 1, step=0,
                    model_name=model.name, model_version=model.version, model_sha256=model.sha256,
                )
            )
            if done.rowcount != 1:  # pragma: no cover - excluded by the lock; kept as the guard it documents
                return None
            row = s.get(JobRow, job_id, populate_existing=True)
            image = s.scalar(select(JobInputRow.image).where(JobInputRow.job_id == job_id))
            assert row is not None
            return ClaimedJob(row.to_entity(), bytes(image or b""), token)

        result: ClaimedJob | None = self._run(op, write=True)
        return result

    def progress(
        self, job_id: str, claim_token: str, step: int, lease_s: float, params: Mapping[str, Any] | None = None
    ) -> bool | None:
        """Record ``step`` (and effective ``params`` when given), renew the lease; return ``cancel_requested``.

        Returns None when the claim is no longer this caller's (the job was recovered).
        """

        def op(s: Session) -> bool | None:
            values: dict[str, Any] = {"step": step, "lease_expires_at": utcnow() + timedelta(seconds=lease_s)}
            if params is not None:
                values["params"] = dict(params)
            done = s.execute(update(JobRow).where(
                JobRow.id == job_id, JobRow.claim_token == claim_token, JobRow.state == "running").values(**values))
            if done.rowcount != 1:
                return None
            return bool(s.scalar(select(JobRow.cancel_requested).where(JobRow.id == job_id)))

        result: bool | None = self._run(op, write=True)
        return result

    def renew(self, claims: Mapping[str, str], lease_s: float) -> tuple[set[str], set[str]]:
        """Renew the leases of ``{job_id: claim_token}``; returns ``(cancel_requested, lost)`` job ids."""
        if not claims:
            return set(), set()

        def op(s: Session) -> tuple[set[str], set[str]]:
            until = utcnow() + timedelta(seconds=lease_s)
            lost = set()
            for job_id, token in claims.items():
                done = s.execute(update(JobRow).where(
                    JobRow.id == job_id, JobRow.claim_token == token, JobRow.state == "running",
                ).values(lease_expires_at=until))
                if done.rowcount != 1:
                    lost.add(job_id)
            flagged = set(s.scalars(select(JobRow.id).where(
                JobRow.id.in_(list(claims)), JobRow.cancel_requested.is_(True))))
            return flagged - lost, lost

        result: tuple[set[str], set[str]] = self._run(op, write=True)
        return result

    def finish(self, job_id: str, claim_token: str, outcome: Outcome) -> Job | None:
        """Record the end of a run (and drop its input image); None when the claim was lost meanwhile."""
        def op(s: Session) -> Job | None:
            done = s.execute(update(JobRow).where(
                JobRow.id == job_id, JobRow.claim_token == claim_token, JobRow.state == "running",
            ).values(
                state=outcome.state.value, error_code=outcome.error_code, error=outcome.error[:4000],
                retryable=outcome.retryable, video_key=outcome.video_key, frames_key=outcome.frames_key,
                expires_at=outcome.expires_at, finished_at=utcnow(), lease_expires_at=None, claim_token="",
            ))
            if done.rowcount != 1:
                return None
            s.execute(delete(JobInputRow).where(JobInputRow.job_id == job_id))
            row = s.get(JobRow, job_id, populate_existing=True)
            assert row is not None
            return row.to_entity()

        result: Job | None = self._run(op, write=True)
        return result

    def release(self, job_id: str, claim_token: str) -> bool:
        """Give a running job back to the queue (its replica is shutting down); the attempt does not count.

        Returns False when the claim was no longer the caller's.
        """

        def op(s: Session) -> bool:
            done = s.execute(update(JobRow).where(
                JobRow.id == job_id, JobRow.claim_token == claim_token, JobRow.state == "running",
            ).values(
                state="queued", claim_token="", replica_id="", lease_expires_at=None, started_at=None, step=0,
                attempts=JobRow.attempts - 1, model_name="", model_version=None, model_sha256="",
            ))
            return bool(done.rowcount == 1)

        result: bool = self._run(op, write=True)
        return result

    def recover_lost(self, max_attempts: int, replica_id: str | None = None) -> Recovery:
        """Deal with running jobs whose lease expired (or, with ``replica_id``, every running job of that replica).

        A job with attempts left goes back to the queue (it will run again from the
        start, keeping its id and request); one without is failed with
        ``error_code="worker_lost"`` and ``retryable`` set; one whose cancel was
        requested ends cancelled.
        """

        def op(s: Session) -> Recovery:
            now = utcnow()
            query = select(JobRow).where(JobRow.state == "running")
            if replica_id is not None:
                query = query.where(JobRow.replica_id == replica_id)
            else:
                query = query.where(JobRow.lease_expires_at < now)
            if self.dialect == "postgresql":
                query = query.with_for_update(skip_locked=True)
            report = Recovery()
            for row in s.scalars(query):
                lost = f"the replica running it ({row.replica_id}) stopped renewing its lease"
                row.claim_token, row.lease_expires_at = "", None
                if row.cancel_requested:
                    row.state, row.finished_at, row.error_code, row.error = "cancelled", now, "cancelled", lost
                    report.cancelled.append(row.id)
                elif row.attempts < max_attempts:
                    row.state, row.step, row.replica_id, row.started_at = "queued", 0, "", None
                    row.model_name, row.model_version, row.model_sha256 = "", None, ""
                    report.requeued.append(row.id)
                    continue
                else:
                    row.state, row.finished_at, row.error_code = "failed", now, WORKER_LOST
                    row.error, row.retryable = f"{lost}; {row.attempts} attempts made", True
                    report.failed.append(row.id)
                s.execute(delete(JobInputRow).where(JobInputRow.job_id == row.id))
            return report

        result: Recovery = self._run(op, write=True)
        return result

    def expired_results(self, limit: int = 100) -> list[Job]:
        """Succeeded jobs past ``expires_at`` whose results were not deleted yet (oldest first)."""
        def op(s: Session) -> list[Job]:
            query = (select(JobRow).where(JobRow.state == "succeeded", JobRow.expires_at < utcnow(),
                                          JobRow.results_deleted_at.is_(None))
                     .order_by(JobRow.expires_at).limit(limit))
            return [r.to_entity() for r in s.scalars(query)]

        result: list[Job] = self._run(op)
        return result

    def mark_results_deleted(self, job_ids: list[str]) -> None:
        """Record that the results of ``job_ids`` are gone (their downloads answer 410)."""
        if job_ids:
            self._run(lambda s: s.execute(update(JobRow).where(JobRow.id.in_(job_ids)).values(
                results_deleted_at=utcnow())), write=True)

    def live_result_ids(self, job_ids: list[str]) -> set[str]:
        """Those of ``job_ids`` whose results must be kept: queued/running (being written) or succeeded, not expired."""
        if not job_ids:
            return set()

        def op(s: Session) -> set[str]:
            query = select(JobRow.id).where(
                JobRow.id.in_(job_ids), JobRow.state.in_(("queued", "running", "succeeded")),
                JobRow.results_deleted_at.is_(None),
            )
            return set(s.scalars(query))

        result: set[str] = self._run(op)
        return result
