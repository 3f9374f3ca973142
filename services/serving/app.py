"""Build the generation service: ``create_app(settings)`` wires state, routers and errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from services.serving.deps import ServingState
from services.serving.errors import install_error_handlers
from services.serving.jobs import JobQueue
from services.serving.metrics import RequestMetricsMiddleware, ServingMetrics
from services.serving.routes import admin, health, jobs
from services.serving.watcher import AliasSource, ModelWatcher
from vidforge.settings import Settings


def create_app(
    settings: Settings,
    *,
    start_background: bool = True,
    registry_factory: Callable[[], AliasSource] | None = None,
) -> FastAPI:
    """A new generation-service app; nothing is shared between apps.

    Args:
        settings: platform settings (``serving.*`` incl. queue limits and the webhook
            secret, ``registry.*``, ``store``).
        start_background: start the model watcher and job worker threads with the
            app's lifespan. With False, drive them by hand (``watcher.refresh_now()``,
            ``jobs.run_next()`` or ``jobs.start()``) through ``app.state.serving``.
        registry_factory: opens the registry (default ``RegistryStore.from_settings(settings)``).
    """
    metrics = ServingMetrics()
    watcher = ModelWatcher(settings, metrics, registry_factory=registry_factory)
    queue = JobQueue(
        Path(settings.serving.cache_dir) / "jobs", metrics,
        max_queued=settings.serving.max_queue, max_retained=settings.serving.max_retained,
    )
    state = ServingState(settings=settings, metrics=metrics, watcher=watcher, jobs=queue)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if start_background:
            watcher.start()
            queue.start()
        try:
            yield
        finally:
            watcher.stop()
            queue.stop()

    app = FastAPI(
        title="vidforge generation service",
        description="Image-to-video jobs on the registry's production model.",
        lifespan=lifespan,
    )
    app.state.serving = state
    app.add_middleware(RequestMetricsMiddleware, metrics=metrics)
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(jobs.router)
    app.include_router(admin.router)
    return app
