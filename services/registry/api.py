"""The registry HTTP API: ``create_app(settings)`` builds it, nothing happens at import.

The app's lifespan opens a :class:`~services.registry.store.RegistryStore` on
``settings.registry.db_url`` — so start-up fails with ``SchemaOutOfDate`` on a
database that is not at head — and disposes it on shutdown. One handler maps
every :class:`~services.registry.errors.RegistryError` to its HTTP status with
the body ``{"error": code, "message": ...}``; request validation errors get the
same shape with code ``invalid_input`` (422).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from services.registry.errors import HTTP_STATUS, INVALID_INPUT, RegistryError
from services.registry.routes import aliases, approvals, audit, models, pages, versions
from services.registry.store import RegistryStore
from vidforge.settings import Settings


async def registry_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Any RegistryError → its mapped status and ``{"error", "message"}``."""
    assert isinstance(exc, RegistryError)
    return JSONResponse(status_code=exc.http_status, content={"error": exc.code, "message": exc.message})


async def validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's request validation errors in the registry's error shape."""
    assert isinstance(exc, RequestValidationError)
    content = {
        "error": INVALID_INPUT,
        "message": "request validation failed",
        "details": jsonable_encoder(exc.errors()),
    }
    return JSONResponse(status_code=HTTP_STATUS[INVALID_INPUT], content=content)


def create_app(settings: Settings) -> FastAPI:
    """Build the registry API for ``settings`` (db at ``settings.registry.db_url``)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = RegistryStore(settings.registry.db_url)
        app.state.store = store
        try:
            yield
        finally:
            store.dispose()

    app = FastAPI(title="vidforge model registry", lifespan=lifespan)
    app.state.settings = settings
    app.add_exception_handler(RegistryError, registry_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    for module in (models, versions, aliases, approvals, audit):
        app.include_router(module.router, prefix="/api")
    app.include_router(pages.router)
    return app
