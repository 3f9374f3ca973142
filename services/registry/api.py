"""The registry HTTP API: ``create_app(settings)`` builds it, nothing happens at import.

The app's lifespan opens a :class:`~services.registry.store.RegistryStore` on
``settings.registry.db_url`` — so start-up fails with ``SchemaOutOfDate`` on a
database that is not at head — starts the webhook dispatcher, and stops both on
shutdown. Every route but ``/healthz`` needs a token (see :mod:`.deps`). One
handler maps every :class:`~services.registry.errors.RegistryError` to its HTTP
status with the body ``{"error": code, "message": ...}``; request validation
errors (422 ``invalid_input``) and unknown routes or methods (404/405) answer in
the same shape.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from services.registry.errors import (
    HTTP_STATUS,
    INVALID_INPUT,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    RegistryError,
    Unauthenticated,
)
from services.registry.routes import aliases, approvals, audit, models, pages, tokens, versions, webhooks
from services.registry.store import RegistryStore
from services.registry.webhooks import WebhookDispatcher
from vidforge.settings import Settings

SESSION_COOKIE = "vidforge_registry_session"
SESSION_MAX_AGE_S = 8 * 3600


async def registry_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Any RegistryError → its mapped status and ``{"error", "message"}`` (401 adds ``WWW-Authenticate``)."""
    assert isinstance(exc, RegistryError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
    content = {"error": exc.code, "message": exc.message}
    return JSONResponse(status_code=exc.http_status, content=content, headers=headers)


async def validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's request validation errors in the registry's error shape (inputs echoed at most 200 chars)."""
    assert isinstance(exc, RequestValidationError)
    details = [{k: (str(v)[:200] if k == "input" else v) for k, v in e.items() if k != "ctx"} for e in exc.errors()]
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()))
    content = {
        "error": INVALID_INPUT,
        "message": f"request validation failed: {where}: {first.get('msg', '')}".strip(),
        "details": jsonable_encoder(details),
    }
    return JSONResponse(status_code=HTTP_STATUS[INVALID_INPUT], content=content)


async def http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Unknown routes (404), wrong methods (405) and other HTTP errors in the registry's error shape."""
    assert isinstance(exc, StarletteHTTPException)
    code = {404: NOT_FOUND, 405: METHOD_NOT_ALLOWED}.get(exc.status_code, "http_error")
    message = f"no route {request.method} {request.url.path}" if exc.status_code in (404, 405) else str(exc.detail)
    return JSONResponse(status_code=exc.status_code, content={"error": code, "message": message},
                        headers=getattr(exc, "headers", None))


def create_app(settings: Settings, dispatch_webhooks: bool = True) -> FastAPI:
    """Build the registry API and pages for ``settings`` (db at ``settings.registry.db_url``)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = RegistryStore.from_settings(settings)
        dispatcher = WebhookDispatcher(store) if dispatch_webhooks else None
        app.state.store = store
        if dispatcher is not None:
            dispatcher.start()
        try:
            yield
        finally:
            if dispatcher is not None:
                dispatcher.stop()
            store.dispose()

    app = FastAPI(title="vidforge model registry", lifespan=lifespan)
    app.state.settings = settings
    secret = settings.registry.session_secret.get_secret_value() or secrets.token_hex(32)
    app.add_middleware(SessionMiddleware, secret_key=secret, session_cookie=SESSION_COOKIE,
                       max_age=SESSION_MAX_AGE_S, same_site="strict", https_only=settings.registry.secure_cookies)
    app.add_exception_handler(RegistryError, registry_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    for module in (models, versions, aliases, approvals, audit, tokens, webhooks):
        app.include_router(module.router, prefix="/api")
    app.include_router(pages.router)
    return app
