"""``/api/models/{name}/versions``: model versions, their lineage, tags and promotion readiness."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from services.registry.deps import Operator, StoreDep, Viewer
from services.registry.routes.params import ModelName, TagKey, VersionNumber
from services.registry.schemas import TagSet, VersionCreate, VersionPublic

router = APIRouter(prefix="/models/{name}/versions", tags=["versions"])


@router.get("")
def list_versions(name: ModelName, store: StoreDep, _: Viewer) -> list[VersionPublic]:
    """All versions of a model, oldest first."""
    return [VersionPublic.model_validate(v) for v in store.list_versions(name)]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_version(
    name: ModelName, body: VersionCreate, store: StoreDep, who: Operator, response: Response
) -> VersionPublic:
    """Register the next version (the model is created if missing); the registrant is the caller.

    Idempotent per ``run_id``: the same run again answers 200 with the version it
    already has (409 if the artifact differs).
    """
    created, is_new = store.register_version(name, who, **body.model_dump())
    if not is_new:
        response.status_code = status.HTTP_200_OK
    return VersionPublic.model_validate(created)


@router.get("/{version}")
def get_version(name: ModelName, version: VersionNumber, store: StoreDep, _: Viewer) -> VersionPublic:
    """One version."""
    return VersionPublic.model_validate(store.get_version(name, version))


@router.get("/{version}/lineage")
def lineage(name: ModelName, version: VersionNumber, store: StoreDep, _: Viewer) -> list[VersionPublic]:
    """The version, then its parent, grand-parent, ..."""
    return [VersionPublic.model_validate(v) for v in store.lineage(name, version)]


@router.get("/{version}/promotion-blockers")
def promotion_blockers(name: ModelName, version: VersionNumber, store: StoreDep, _: Viewer) -> list[str]:
    """What keeps the version from a protected alias now (empty: nothing)."""
    return store.promotion_blockers(name, version)


@router.put("/{version}/tags/{key}")
def set_tag(
    name: ModelName, version: VersionNumber, key: TagKey, body: TagSet, store: StoreDep, who: Operator
) -> VersionPublic:
    """Create or change a tag (audited with its previous value)."""
    return VersionPublic.model_validate(store.set_tag(name, version, key, body.value, who))


@router.delete("/{version}/tags/{key}", status_code=status.HTTP_204_NO_CONTENT)
def delete_tag(name: ModelName, version: VersionNumber, key: TagKey, store: StoreDep, who: Operator) -> Response:
    """Remove a tag (404 when absent)."""
    store.delete_tag(name, version, key, who)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
