"""FastAPI dependencies of the registry API, as ``Annotated`` aliases.

Identity comes only from ``Authorization: Bearer <token>`` (the API) or from the
signed session cookie the login page sets (the pages); never from a header or
field the client names itself. API routes accept only the bearer token; the
pages (:mod:`services.registry.routes.pages`) only their session. ``Viewer``/``Operator``/``Approver``/``Admin``
are principals holding at least that role: a missing or unknown token is 401,
a role too low 403.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from services.registry import rules
from services.registry.errors import Unauthenticated
from services.registry.store import RegistryStore
from vidforge.identity import Principal, Role, bearer_token
from vidforge.settings import Settings


def get_store(request: Request) -> RegistryStore:
    """The store opened by the app's lifespan (see :func:`services.registry.api.create_app`)."""
    store: RegistryStore = request.app.state.store
    return store


def get_app_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


StoreDep = Annotated[RegistryStore, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]


def current_principal(request: Request, store: StoreDep) -> Principal:
    """The API caller, from the bearer token only (cookies are for pages). Raises Unauthenticated (401)."""
    plain = bearer_token(request.headers.get("authorization"))
    if not plain:
        raise Unauthenticated("missing or malformed credentials: send 'Authorization: Bearer <token>'")
    principal = store.resolve_token(plain)
    if principal is None:
        raise Unauthenticated("unknown or revoked token")
    return principal


def _at_least(role: Role) -> Callable[[Principal], Principal]:
    def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        rules.require_role(principal, role, f"this request ({role.label} or above)")
        return principal

    return check


Viewer = Annotated[Principal, Depends(_at_least(Role.VIEWER))]
Operator = Annotated[Principal, Depends(_at_least(Role.OPERATOR))]
Approver = Annotated[Principal, Depends(_at_least(Role.APPROVER))]
Admin = Annotated[Principal, Depends(_at_least(Role.ADMIN))]
