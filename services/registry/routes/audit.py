"""``/api/audit``: the append-only, hash-chained audit log and its verification."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.registry.deps import Operator, StoreDep, Viewer
from services.registry.models import NAME_LENGTH
from services.registry.routes.params import Limit
from services.registry.schemas import AuditEventPublic, ChainPublic, EventIn
from services.registry.validation import MAX_INT

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("")
def audit_log(
    store: StoreDep,
    _: Viewer,
    name: Annotated[str | None, Query(max_length=NAME_LENGTH, pattern=r"^[A-Za-z0-9._-]+$")] = None,
    limit: Limit = 100,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_INT, description="page: records older than this")] = None,
) -> list[AuditEventPublic]:
    """Newest records first (of one model with ``name``)."""
    return [AuditEventPublic.model_validate(e) for e in store.audit_log(name, limit, before_id)]


@router.get("/verify")
def verify(store: StoreDep, _: Viewer) -> ChainPublic:
    """Recompute the hash chain; ``ok`` false names the first broken record."""
    return ChainPublic.model_validate(store.verify_audit())


@router.post("/events", status_code=201)
def record_event(body: EventIn, store: StoreDep, who: Operator) -> AuditEventPublic:
    """Record an operational event (e.g. a failed pipeline task) in the audit log as the caller (operator+)."""
    return AuditEventPublic.model_validate(store.record_event(body.kind, who, body.details, body.name))
