"""Request and response bodies of the registry HTTP API (apart from the ORM).

Every request field has a type, a size and a range: a body that breaks one is a
422 in the registry's error shape before the store is called (the store checks
the same rules again for its other callers). Integers are strict: ``true`` or
``"3"`` is not a version. Unknown fields are refused. Responses are built from
the store's entities (``from_attributes``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt

from services.registry.models import NAME_LENGTH
from services.registry.validation import MAX_GATE_CHECKS, MAX_INT, MAX_METRICS, MAX_TAG_VALUE, MAX_TEXT
from vidforge.uris import MAX_URI_LENGTH

Name = Annotated[str, Field(min_length=1, max_length=NAME_LENGTH, pattern=r"^[A-Za-z0-9._-]+$")]
VersionNumber = Annotated[StrictInt, Field(ge=1, le=MAX_INT)]
Uri = Annotated[str, Field(max_length=MAX_URI_LENGTH)]
Label = Annotated[str, Field(max_length=256)]
Text = Annotated[str, Field(max_length=MAX_TEXT)]
MetricName = Annotated[str, Field(min_length=1, max_length=NAME_LENGTH)]
MetricValue = Annotated[StrictFloat | StrictInt, Field(ge=-1e300, le=1e300)]
TagKey = Annotated[str, Field(min_length=1, max_length=NAME_LENGTH, pattern=r"^[A-Za-z0-9._:/-]+$")]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    """Every error response: a stable code and a human message."""

    error: str
    message: str
    details: list[dict[str, Any]] | None = None


class ModelCreate(_Request):
    """Register a model."""

    name: Name
    description: Text = ""


class ModelUpdate(_Request):
    """Change a model's settings (admin); omitted fields stay."""

    description: Text | None = None
    protected_aliases: Annotated[list[Name], Field(max_length=32)] | None = None


class ModelPublic(BaseModel):
    """A registered model, its aliases (alias → version) and the aliases it protects."""

    model_config = ConfigDict(from_attributes=True)

    name: str
    description: str
    created_at: datetime
    aliases: dict[str, int]
    protected_aliases: list[str]


class GateCheck(_Request):
    """One gate rule and its outcome."""

    rule: Annotated[str, Field(max_length=512)]
    passed: StrictBool
    metric: Annotated[str, Field(max_length=NAME_LENGTH)] = ""
    value: MetricValue | None = None
    limit: MetricValue | None = None
    champion: MetricValue | None = None


class VersionCreate(_Request):
    """Register a new version (its number is assigned by the registry; the registrant is the caller)."""

    artifact_uri: Uri
    sha256: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$", description="sha256_tree of the artifact directory")]
    metrics: Annotated[dict[MetricName, MetricValue], Field(max_length=MAX_METRICS)] = Field(default_factory=dict)
    gate_passed: StrictBool | None = None
    gate_checks: Annotated[list[GateCheck], Field(max_length=MAX_GATE_CHECKS)] = Field(default_factory=list)
    report_uri: Uri = ""
    dataset_version: Label = ""
    dataset_uri: Uri = ""
    code_version: Label = ""
    run_id: Label = ""
    dag_run_id: Label = ""
    parent_version: VersionNumber | None = None
    description: Text = ""


class VersionPublic(BaseModel):
    """One model version, the aliases that point at it, and its tags."""

    model_config = ConfigDict(from_attributes=True)

    name: str
    version: int
    artifact_uri: str
    sha256: str
    metrics: dict[str, float]
    gate_passed: bool | None
    gate_checks: list[dict[str, Any]]
    report_uri: str
    dataset_version: str
    dataset_uri: str
    code_version: str
    run_id: str
    dag_run_id: str
    parent_version: int | None
    created_by: str
    created_at: datetime
    description: str
    aliases: list[str]
    tags: dict[str, str]


class TagSet(_Request):
    """A tag's value."""

    value: Annotated[str, Field(max_length=MAX_TAG_VALUE)]


class AliasSet(_Request):
    """Compare-and-set: point the alias at ``version`` if it now points at ``expected_version`` (null: unset)."""

    version: VersionNumber
    expected_version: VersionNumber | None = Field(description="the version the alias points at now; null if unset")


class AliasDelete(_Request):
    """Compare-and-delete."""

    expected_version: VersionNumber


class Rollback(_Request):
    """Move the alias back to a version it pointed at before."""

    version: VersionNumber
    expected_version: VersionNumber | None
    reason: Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]


class AliasTarget(BaseModel):
    """What a downstream service needs to fetch the model behind an alias."""

    name: str
    alias: str
    version: int
    artifact_uri: str
    sha256: str


class ApprovalCreate(_Request):
    """A review decision on a version; the reviewer is the caller. A rejection needs a comment (the reason)."""

    decision: Literal["approved", "rejected"]
    comment: Text = ""


class ApprovalPublic(BaseModel):
    """A recorded review decision."""

    model_config = ConfigDict(from_attributes=True)

    name: str
    version: int
    approver: str
    decision: str
    comment: str
    created_at: datetime


class EventIn(BaseModel):
    """An operational event for the audit log (``POST /api/audit/events``)."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(min_length=3, max_length=63, pattern=r"^[a-z][a-z0-9_]+$")
    name: str = Field("", max_length=NAME_LENGTH, description="The model it concerns; empty: none.")
    details: dict[str, str] = Field(default_factory=dict, max_length=32)


class AuditEventPublic(BaseModel):
    """One audit-log record with its chain hashes."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    action: str
    name: str
    version: int | None
    details: dict[str, Any]
    prev_hash: str
    hash: str


class ChainPublic(BaseModel):
    """The audit chain's verification."""

    model_config = ConfigDict(from_attributes=True)

    ok: bool
    checked: int
    head_id: int
    head_hash: str
    broken_id: int | None
    reason: str


class TokenCreate(_Request):
    """A new API token."""

    name: Name
    role: Literal["viewer", "operator", "approver", "admin"]


class TokenPublic(BaseModel):
    """A token's public facts."""

    model_config = ConfigDict(from_attributes=True)

    name: str
    role: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


class TokenCreated(TokenPublic):
    """A new token, with its value: shown once, store it now."""

    token: str


class WebhookCreate(_Request):
    """Subscribe a URL to the model's alias changes."""

    url: Uri


class WebhookPublic(BaseModel):
    """A subscriber."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    url: str
    created_by: str
    created_at: datetime
    active: bool


class WebhookCreated(WebhookPublic):
    """A new subscriber, with its signing secret: shown once."""

    secret: str


class DeliveryPublic(BaseModel):
    """One delivery to a subscriber."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    webhook_id: int
    event_id: int
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str
    delivered_at: datetime | None
