"""FastAPI dependencies of the registry API, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from services.registry.store import RegistryStore
from vidforge.settings import Settings

DEFAULT_ACTOR = "api"


def get_store(request: Request) -> RegistryStore:
    """The store opened by the app's lifespan (see :func:`services.registry.api.create_app`)."""
    store: RegistryStore = request.app.state.store
    return store


def get_app_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


def get_actor(x_actor: Annotated[str, Header(description="who makes the change")] = DEFAULT_ACTOR) -> str:
    """The acting user for audit rows, from the ``X-Actor`` header (default ``api``)."""
    return x_actor


StoreDep = Annotated[RegistryStore, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
ActorDep = Annotated[str, Depends(get_actor)]
