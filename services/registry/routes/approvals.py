"""``/api/models/{name}/versions/{version}/approvals``: review decisions."""

from __future__ import annotations

from fastapi import APIRouter, status

from services.registry.deps import StoreDep
from services.registry.schemas import ApprovalCreate, ApprovalPublic

router = APIRouter(prefix="/models/{name}/versions/{version}/approvals", tags=["approvals"])


@router.get("")
def list_approvals(name: str, version: int, store: StoreDep) -> list[ApprovalPublic]:
    """Decisions on a version, oldest first."""
    return [ApprovalPublic.model_validate(a) for a in store.list_approvals(name, version)]


@router.post("", status_code=status.HTTP_201_CREATED)
def add_approval(name: str, version: int, body: ApprovalCreate, store: StoreDep) -> ApprovalPublic:
    """Record a decision; the approver is the audit actor."""
    approval = store.add_approval(name, version, body.approver, body.decision, body.comment)
    return ApprovalPublic.model_validate(approval)
