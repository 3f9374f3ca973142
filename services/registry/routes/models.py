"""``/api/models``: registered models."""

from __future__ import annotations

from fastapi import APIRouter, status

from services.registry.deps import ActorDep, StoreDep
from services.registry.schemas import ModelCreate, ModelPublic

router = APIRouter(prefix="/models", tags=["models"])


@router.get("")
def list_models(store: StoreDep) -> list[ModelPublic]:
    """All registered models, by name."""
    return [ModelPublic.model_validate(m) for m in store.list_models()]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_model(body: ModelCreate, store: StoreDep, actor: ActorDep) -> ModelPublic:
    """Register a model (409 ``already_exists`` if the name is taken)."""
    return ModelPublic.model_validate(store.create_model(body.name, body.description, actor=actor))


@router.get("/{name}")
def get_model(name: str, store: StoreDep) -> ModelPublic:
    """One model and its aliases (404 ``not_found``)."""
    return ModelPublic.model_validate(store.get_model(name))
