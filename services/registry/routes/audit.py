"""``/api/audit``: the append-only audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.registry.deps import StoreDep
from services.registry.schemas import AuditEventPublic

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("")
def audit_log(
    store: StoreDep,
    name: Annotated[str | None, Query(description="only events of this model")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[AuditEventPublic]:
    """Newest events first."""
    return [AuditEventPublic.model_validate(e) for e in store.audit_log(name, limit)]
