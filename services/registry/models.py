"""SQLAlchemy ORM tables of the registry (private to :mod:`.store`).

Every constraint and index is named (explicitly, and through the metadata's
naming convention) so that Alembic migrations can refer to them on SQLite and
PostgreSQL alike. Timestamps are stored as UTC and read back timezone-aware.
Version numbers start at 1 and are unique per model; aliases, approvals and
tags reference a ``(model_id, version)`` pair through a composite foreign key.
A training run registers at most one version per model (a partial unique index
on non-empty ``run_id``). Audit rows form a hash chain whose head (last id and
hash) is the single row of ``audit_head``; writers lock that row, which also
serialises registry writes on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

NAME_LENGTH = 128
"""Maximum length of model, alias, actor and approver names."""


def utcnow() -> datetime:
    """The current time as a timezone-aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A ``DateTime(timezone=True)`` that only accepts aware datetimes and returns UTC ones.

    SQLite has no time zones: values are stored as naive UTC and tagged UTC on load.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: registry timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base carrying the named-constraint metadata."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class RegisteredModelRow(Base):
    """A named model; versions hang off it."""

    __tablename__ = "registered_models"
    __table_args__ = (UniqueConstraint("name", name="uq_registered_models_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    description: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    protected_aliases: Mapped[list[str]] = mapped_column(JSON)


class ModelVersionRow(Base):
    """One immutable version; ``parent_version`` (same model) must exist when set."""

    __tablename__ = "model_versions"
    __table_args__ = (
        UniqueConstraint("model_id", "version", name="uq_model_versions_model_id_version"),
        ForeignKeyConstraint(
            ["model_id", "parent_version"],
            ["model_versions.model_id", "model_versions.version"],
            name="fk_model_versions_parent_version",
        ),
        CheckConstraint("version >= 1", name="version_positive"),
        Index(
            "uq_model_versions_model_id_run_id",
            "model_id",
            "run_id",
            unique=True,
            sqlite_where=text("run_id != ''"),
            postgresql_where=text("run_id != ''"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("registered_models.id", name="fk_model_versions_model_id"))
    version: Mapped[int] = mapped_column(Integer)
    artifact_uri: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    metrics: Mapped[dict[str, Any]]
    dataset_version: Mapped[str] = mapped_column(String(256))
    code_version: Mapped[str] = mapped_column(String(256))
    run_id: Mapped[str] = mapped_column(String(256))
    parent_version: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(NAME_LENGTH))
    created_at: Mapped[datetime]
    description: Mapped[str] = mapped_column(Text)
    gate_passed: Mapped[bool | None] = mapped_column(Boolean)
    gate_checks: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    report_uri: Mapped[str] = mapped_column(Text)
    dataset_uri: Mapped[str] = mapped_column(Text)
    dag_run_id: Mapped[str] = mapped_column(String(256))


class ModelAliasRow(Base):
    """A movable name (``production``, ``candidate``) pointing at one version."""

    __tablename__ = "model_aliases"
    __table_args__ = (
        UniqueConstraint("model_id", "alias", name="uq_model_aliases_model_id_alias"),
        ForeignKeyConstraint(
            ["model_id", "version"],
            ["model_versions.model_id", "model_versions.version"],
            name="fk_model_aliases_version",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[int] = mapped_column(Integer)
    alias: Mapped[str] = mapped_column(String(NAME_LENGTH))
    version: Mapped[int] = mapped_column(Integer)


class ApprovalRow(Base):
    """A reviewer's decision on a version."""

    __tablename__ = "approvals"
    __table_args__ = (
        ForeignKeyConstraint(
            ["model_id", "version"],
            ["model_versions.model_id", "model_versions.version"],
            name="fk_approvals_version",
        ),
        CheckConstraint("decision IN ('approved', 'rejected')", name="decision_valid"),
        Index("ix_approvals_model_id_version", "model_id", "version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    approver: Mapped[str] = mapped_column(String(NAME_LENGTH))
    decision: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class AuditEventRow(Base):
    """Append-only, hash-chained log of mutations; keyed by model *name* so it outlives any row.

    ``hash`` is the SHA-256 of the row's content and ``prev_hash`` (see
    :mod:`services.registry.chain`); ids are assigned by the writer holding the
    ``audit_head`` lock, so they are contiguous. Events that concern no model
    (tokens) have ``model_name`` ``""``.
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_model_name", "model_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(NAME_LENGTH))
    action: Mapped[str] = mapped_column(String(64))
    model_name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    version: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHeadRow(Base):
    """The one row (id 1) naming the newest audit event and its hash: the chain's lock and anchor."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))


class ModelTagRow(Base):
    """A key/value tag on a version (editable; every change is audited)."""

    __tablename__ = "model_tags"
    __table_args__ = (
        UniqueConstraint("model_id", "version", "key", name="uq_model_tags_model_id_version_key"),
        ForeignKeyConstraint(
            ["model_id", "version"],
            ["model_versions.model_id", "model_versions.version"],
            name="fk_model_tags_version",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(NAME_LENGTH))
    value: Mapped[str] = mapped_column(Text)


class ApiTokenRow(Base):
    """An API token: only its SHA-256 is stored; ``name`` is the identity written in records."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        UniqueConstraint("name", name="uq_api_tokens_name"),
        UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
        CheckConstraint("role IN ('viewer', 'operator', 'approver', 'admin')", name="role_valid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(NAME_LENGTH))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class WebhookRow(Base):
    """A subscriber to a model's alias changes; ``secret`` signs each delivery (HMAC-SHA256)."""

    __tablename__ = "webhooks"
    __table_args__ = (Index("ix_webhooks_model_id", "model_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("registered_models.id", name="fk_webhooks_model_id"))
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(128))
    created_by: Mapped[str] = mapped_column(String(NAME_LENGTH))
    created_at: Mapped[datetime]
    active: Mapped[bool] = mapped_column(Boolean)


class WebhookDeliveryRow(Base):
    """One event for one subscriber: queued in the alias move's transaction, sent by the dispatcher."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status_valid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", name="fk_webhook_deliveries_webhook_id"))
    event_id: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime]
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
