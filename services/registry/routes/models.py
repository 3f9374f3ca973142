"""``/api/models``: registered models and their settings."""

from __future__ import annotations

from fastapi import APIRouter, status

from services.registry.deps import Admin, Operator, StoreDep, Viewer
from services.registry.routes.params import ModelName
from services.registry.schemas import ModelCreate, ModelPublic, ModelUpdate

router = APIRouter(prefix="/models", tags=["models"])


@router.get("")
def list_models(store: StoreDep, _: Viewer) -> list[ModelPublic]:
    """All registered models, by name."""
    return [ModelPublic.model_validate(m) for m in store.list_models()]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_model(body: ModelCreate, store: StoreDep, who: Operator) -> ModelPublic:
    """Register a model (409 ``already_exists`` if the name is taken)."""
    return ModelPublic.model_validate(store.create_model(body.name, who, body.description))


@router.get("/{name}")
def get_model(name: ModelName, store: StoreDep, _: Viewer) -> ModelPublic:
    """One model and its aliases (404 ``not_found``)."""
    return ModelPublic.model_validate(store.get_model(name))


@router.patch("/{name}")
def update_model(name: ModelName, body: ModelUpdate, store: StoreDep, who: Admin) -> ModelPublic:
    """Change the description or the protected aliases (admin; audited with before and after)."""
    updated = store.update_model(name, who, description=body.description, protected_aliases=body.protected_aliases)
    return ModelPublic.model_validate(updated)
