"""Request and response bodies of the registry HTTP API (apart from the ORM).

Responses are built from the store's entities (``from_attributes``). Bodies only
check types here; names, digests and metrics are validated by the store, whose
:class:`~services.registry.errors.InvalidInput` becomes a 422 like these do.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ErrorBody(BaseModel):
    """Every error response: a stable code and a human message."""

    error: str
    message: str
    details: list[dict[str, Any]] | None = None


class ModelCreate(BaseModel):
    """Register a model."""

    name: str
    description: str = ""


class ModelPublic(BaseModel):
    """A registered model and its aliases (alias → version)."""

    model_config = ConfigDict(from_attributes=True)

    name: str
    description: str
    created_at: datetime
    aliases: dict[str, int]


class VersionCreate(BaseModel):
    """Register a new version (its number is assigned by the registry)."""

    artifact_uri: str
    sha256: str = Field(description="sha256_tree of the artifact directory, 64 hex characters")
    metrics: dict[str, float] = Field(default_factory=dict)
    dataset_version: str = ""
    code_version: str = ""
    run_id: str = ""
    parent_version: int | None = None
    description: str = ""


class VersionPublic(BaseModel):
    """One model version and the aliases that point at it."""

    model_config = ConfigDict(from_attributes=True)

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
    aliases: list[str]


class AliasSet(BaseModel):
    """Point an alias at a version."""

    version: int


class ApprovalCreate(BaseModel):
    """A review decision on a version."""

    approver: str
    decision: Literal["approved", "rejected"]
    comment: str = ""


class ApprovalPublic(BaseModel):
    """A recorded review decision."""

    model_config = ConfigDict(from_attributes=True)

    name: str
    version: int
    approver: str
    decision: str
    comment: str
    created_at: datetime


class AuditEventPublic(BaseModel):
    """One audit-log entry."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    action: str
    name: str
    version: int | None
    details: dict[str, Any]
