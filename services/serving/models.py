"""SQLAlchemy ORM tables of the generation service (private to the job store).

Every table name starts with ``serving_`` so that serving and the registry can
share one PostgreSQL database; constraints are named through the metadata's
naming convention (the registry's). A job's input image (already resized to
the job's resolution, PNG) lives in its own table so that listing jobs never
reads image bytes, and is deleted when the job ends. Timestamps are UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.registry.models import NAMING_CONVENTION, UTCDateTime
from services.serving.entities import Job, JobState, ModelStamp

TABLE_PREFIX = "serving_"
NAME_LENGTH = 128
KEY_LENGTH = 255
"""Longest accepted ``Idempotency-Key``."""
STATES = ("queued", "running", "succeeded", "failed", "cancelled")


class Base(DeclarativeBase):
    """Declarative base of the serving tables (named constraints)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class JobRow(Base):
    """One generation job: request, state, the model that ran it, the claim, and where results are."""

    __tablename__ = "serving_jobs"
    __table_args__ = (
        UniqueConstraint("owner", "idempotency_key"),
        CheckConstraint("state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')", name="state_known"),
        Index("ix_serving_jobs_state_created_at", "state", "created_at"),
        Index("ix_serving_jobs_owner_created_at", "owner", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(NAME_LENGTH))
    state: Mapped[str] = mapped_column(String(16))
    idempotency_key: Mapped[str | None] = mapped_column(String(KEY_LENGTH))
    request_hash: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]]
    return_frames: Mapped[bool] = mapped_column(Boolean)
    model_name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    model_version: Mapped[int | None] = mapped_column(Integer)
    model_sha256: Mapped[str] = mapped_column(String(64))
    step: Mapped[int] = mapped_column(Integer)
    total_steps: Mapped[int] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer)
    cancel_requested: Mapped[bool] = mapped_column(Boolean)
    error_code: Mapped[str] = mapped_column(String(64))
    error: Mapped[str] = mapped_column(Text)
    retryable: Mapped[bool] = mapped_column(Boolean)
    replica_id: Mapped[str] = mapped_column(String(NAME_LENGTH))
    claim_token: Mapped[str] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    results_deleted_at: Mapped[datetime | None]
    video_key: Mapped[str] = mapped_column(Text)
    frames_key: Mapped[str] = mapped_column(Text)

    def to_entity(self) -> Job:
        """The frozen view of this row."""
        model = (ModelStamp(self.model_name, self.model_version, self.model_sha256)
                 if self.model_version is not None else None)
        return Job(
            job_id=self.id, owner=self.owner, state=JobState(self.state), params=dict(self.params),
            return_frames=self.return_frames, idempotency_key=self.idempotency_key, model=model, step=self.step,
            total_steps=self.total_steps, attempts=self.attempts, cancel_requested=self.cancel_requested,
            error_code=self.error_code, error=self.error, retryable=self.retryable, created_at=self.created_at,
            started_at=self.started_at, finished_at=self.finished_at, expires_at=self.expires_at,
            results_deleted=self.results_deleted_at is not None, video_key=self.video_key,
            frames_key=self.frames_key,
        )


class JobInputRow(Base):
    """The conditioning image of a job that has not ended (PNG at the job's resolution)."""

    __tablename__ = "serving_job_inputs"

    job_id: Mapped[str] = mapped_column(ForeignKey("serving_jobs.id", ondelete="CASCADE"), primary_key=True)
    image: Mapped[bytes] = mapped_column(LargeBinary)


class TokenRow(Base):
    """A scoped API token of the service: only its SHA-256 is stored (see :mod:`vidforge.identity`)."""

    __tablename__ = "serving_tokens"
    __table_args__ = (UniqueConstraint("name"), UniqueConstraint("token_hash"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    token_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(String(NAME_LENGTH))
    created_by: Mapped[str] = mapped_column(String(NAME_LENGTH))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
