"""SQLAlchemy ORM tables of the registry (private to :mod:`.store`).

Every constraint and index is named (explicitly, and through the metadata's
naming convention) so that Alembic migrations can refer to them on SQLite and
PostgreSQL alike. Timestamps are stored as UTC and read back timezone-aware.
Version numbers start at 1 and are unique per model; aliases and approvals
reference a ``(model_id, version)`` pair through a composite foreign key.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
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
    """Append-only log of mutations; keyed by model *name* so it outlives any row."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_model_name", "model_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(NAME_LENGTH))
    action: Mapped[str] = mapped_column(String(64))
    model_name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    version: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any]]
