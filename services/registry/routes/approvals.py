"""``/api/models/{name}/versions/{version}/approvals``: review decisions (four eyes)."""

from __future__ import annotations

from fastapi import APIRouter, status

from services.registry.deps import Approver, StoreDep, Viewer
from services.registry.routes.params import ModelName, VersionNumber
from services.registry.schemas import ApprovalCreate, ApprovalPublic

router = APIRouter(prefix="/models/{name}/versions/{version}/approvals", tags=["approvals"])


@router.get("")
def list_approvals(name: ModelName, version: VersionNumber, store: StoreDep, _: Viewer) -> list[ApprovalPublic]:
    """Decisions on a version, oldest first."""
    return [ApprovalPublic.model_validate(a) for a in store.list_approvals(name, version)]


@router.post("", status_code=status.HTTP_201_CREATED)
def add_approval(
    name: ModelName, version: VersionNumber, body: ApprovalCreate, store: StoreDep, who: Approver
) -> ApprovalPublic:
    """Record the caller's decision (409 ``rule_violation`` if the caller registered the version)."""
    return ApprovalPublic.model_validate(store.add_approval(name, version, who, body.decision, body.comment))
