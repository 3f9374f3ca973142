"""Plain, frozen values returned by the registry store.

They never hold ORM state, so they can cross threads, be cached, or be sent as
JSON (``to_dict()``: datetimes become ISO-8601 strings with a UTC offset,
tuples become lists).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


class _Entity:
    """``to_dict()`` for the dataclasses below."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True)
class RegisteredModel(_Entity):
    """A registered model; ``aliases`` maps alias name → version number.

    ``protected_aliases`` may only point at versions with a passing gate and an
    approval by someone other than the registrant.
    """

    name: str
    description: str
    created_at: datetime
    aliases: dict[str, int] = field(default_factory=dict)
    protected_aliases: tuple[str, ...] = ("production",)


@dataclass(frozen=True)
class ModelVersion(_Entity):
    """One immutable version of a model; ``aliases`` are those pointing at it, sorted.

    ``gate_passed`` is None when no gate result was recorded; ``gate_checks`` are
    the gate's rules with their outcome. ``tags`` are the only mutable part.
    """

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
    gate_passed: bool | None = None
    gate_checks: tuple[dict[str, Any], ...] = ()
    report_uri: str = ""
    dataset_uri: str = ""
    dag_run_id: str = ""
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Approval(_Entity):
    """A review decision (``approved`` or ``rejected``) on one version."""

    name: str
    version: int
    approver: str
    decision: str
    comment: str
    created_at: datetime


@dataclass(frozen=True)
class AuditEvent(_Entity):
    """One record of the hash-chained audit log; ``version`` is None for model-level events."""

    id: int
    at: datetime
    actor: str
    action: str
    name: str
    version: int | None
    details: dict[str, Any]
    prev_hash: str = ""
    hash: str = ""


@dataclass(frozen=True)
class TokenInfo(_Entity):
    """An API token's public facts (never its value or digest)."""

    name: str
    role: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class Webhook(_Entity):
    """A subscriber to a model's alias changes (the secret is shown once, at creation)."""

    id: int
    name: str
    url: str
    created_by: str
    created_at: datetime
    active: bool


@dataclass(frozen=True)
class WebhookDelivery(_Entity):
    """One alias-change event sent (or being sent) to one subscriber."""

    id: int
    webhook_id: int
    event_id: int
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str
    delivered_at: datetime | None
