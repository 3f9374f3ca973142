"""``/api/models/{name}/aliases/{alias}``: movable names for versions."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from services.registry.deps import ActorDep, StoreDep
from services.registry.schemas import AliasSet, VersionPublic

router = APIRouter(prefix="/models/{name}/aliases", tags=["aliases"])


@router.get("/{alias}")
def get_alias(name: str, alias: str, store: StoreDep) -> VersionPublic:
    """The version the alias points at (404 when absent)."""
    return VersionPublic.model_validate(store.get_version_by_alias(name, alias))


@router.put("/{alias}")
def set_alias(name: str, alias: str, body: AliasSet, store: StoreDep, actor: ActorDep) -> VersionPublic:
    """Create or move the alias; returns the version it now points at."""
    return VersionPublic.model_validate(store.set_alias(name, alias, body.version, actor=actor))


@router.delete("/{alias}", status_code=status.HTTP_204_NO_CONTENT)
def delete_alias(name: str, alias: str, store: StoreDep, actor: ActorDep) -> Response:
    """Remove the alias (404 when absent)."""
    store.delete_alias(name, alias, actor=actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
