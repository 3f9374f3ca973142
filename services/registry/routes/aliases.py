"""``/api/models/{name}/aliases/{alias}``: movable names for versions, moved by compare-and-set."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from services.registry.deps import Operator, StoreDep, Viewer
from services.registry.routes.params import AliasName, ModelName
from services.registry.schemas import AliasDelete, AliasSet, AliasTarget, Rollback, VersionPublic

router = APIRouter(prefix="/models/{name}/aliases", tags=["aliases"])


@router.get("/{alias}")
def get_alias(name: ModelName, alias: AliasName, store: StoreDep, _: Viewer) -> AliasTarget:
    """The version behind the alias, with what a downstream service needs to fetch it (404 when unset)."""
    mv = store.get_version_by_alias(name, alias)
    return AliasTarget(name=name, alias=alias, version=mv.version, artifact_uri=mv.artifact_uri, sha256=mv.sha256)


@router.put("/{alias}")
def set_alias(name: ModelName, alias: AliasName, body: AliasSet, store: StoreDep, who: Operator) -> VersionPublic:
    """Move the alias from ``expected_version`` to ``version`` (409 ``alias_conflict`` if it moved meanwhile).

    A protected alias needs an approver and a promotable version (409 ``rule_violation`` naming what is missing).
    """
    moved = store.set_alias(name, alias, body.version, who, expected_version=body.expected_version)
    return VersionPublic.model_validate(moved)


@router.post("/{alias}/rollback")
def rollback(name: ModelName, alias: AliasName, body: Rollback, store: StoreDep, who: Operator) -> VersionPublic:
    """Move the alias back to a version it pointed at before, with a reason (audited as a rollback)."""
    moved = store.rollback(name, alias, body.version, who, expected_version=body.expected_version, reason=body.reason)
    return VersionPublic.model_validate(moved)


@router.delete("/{alias}", status_code=status.HTTP_204_NO_CONTENT)
def delete_alias(name: ModelName, alias: AliasName, body: AliasDelete, store: StoreDep, who: Operator) -> Response:
    """Remove the alias if it still points at ``expected_version`` (404 when absent)."""
    store.delete_alias(name, alias, who, expected_version=body.expected_version)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
