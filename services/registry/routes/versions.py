"""``/api/models/{name}/versions``: model versions and their lineage."""

from __future__ import annotations

from fastapi import APIRouter, status

from services.registry.deps import ActorDep, StoreDep
from services.registry.schemas import VersionCreate, VersionPublic

router = APIRouter(prefix="/models/{name}/versions", tags=["versions"])


@router.get("")
def list_versions(name: str, store: StoreDep) -> list[VersionPublic]:
    """All versions of a model, oldest first."""
    return [VersionPublic.model_validate(v) for v in store.list_versions(name)]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_version(name: str, body: VersionCreate, store: StoreDep, actor: ActorDep) -> VersionPublic:
    """Register the next version of ``name`` (the model is created if missing)."""
    created = store.create_version(name, created_by=actor, **body.model_dump())
    return VersionPublic.model_validate(created)


@router.get("/{version}")
def get_version(name: str, version: int, store: StoreDep) -> VersionPublic:
    """One version."""
    return VersionPublic.model_validate(store.get_version(name, version))


@router.get("/{version}/lineage")
def lineage(name: str, version: int, store: StoreDep) -> list[VersionPublic]:
    """The version, then its parent, grand-parent, ..."""
    return [VersionPublic.model_validate(v) for v in store.lineage(name, version)]
