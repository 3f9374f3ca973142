"""Plain, frozen values returned by the registry store.

They never hold ORM state, so they can cross threads, be cached, or be sent as
JSON (``to_dict()``: datetimes become ISO-8601 strings with a UTC offset).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class RegisteredModel:
    """A registered model; ``aliases`` maps alias name → version number."""

    name: str
    description: str
    created_at: datetime
    aliases: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "name": self.name,
            "description": self.description,
            "created_at": self.created_at.isoformat(),
            "aliases": dict(self.aliases),
        }


@dataclass(frozen=True)
class ModelVersion:
    """One immutable version of a model; ``aliases`` are those pointing at it, sorted."""

    name: str
    version: int
    artifact_uri: str
    sha256: str
    metrics: dict[str, float]
    dataset_version: str
    code_version: str
    run_id: str
    parent_version: int | None
    created_by: str
    created_at: datetime
    description: str
    aliases: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "name": self.name,
            "version": self.version,
            "artifact_uri": self.artifact_uri,
            "sha256": self.sha256,
            "metrics": dict(self.metrics),
            "dataset_version": self.dataset_version,
            "code_version": self.code_version,
            "run_id": self.run_id,
            "parent_version": self.parent_version,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "description": self.description,
            "aliases": list(self.aliases),
        }


@dataclass(frozen=True)
class Approval:
    """A review decision (``approved`` or ``rejected``) on one version."""

    name: str
    version: int
    approver: str
    decision: str
    comment: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "name": self.name,
            "version": self.version,
            "approver": self.approver,
            "decision": self.decision,
            "comment": self.comment,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class AuditEvent:
    """One row of the append-only audit log; ``version`` is None for model-level events."""

    id: int
    at: datetime
    actor: str
    action: str
    name: str
    version: int | None
    details: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "name": self.name,
            "version": self.version,
            "details": dict(self.details),
        }
