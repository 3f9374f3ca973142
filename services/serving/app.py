"""Build the generation service: ``create_app(settings)`` wires store, workers, watcher, routes and errors.

The job database is opened (and migrated, with ``serving.db_auto_upgrade``)
when the app is built, so a service that cannot reach it fails at start-up.
The lifespan starts the model watcher, the workers and the cleanup task; at
shutdown running jobs go back to the queue.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.serving.bodylimit import BodyLimitMiddleware
from services.serving.deps import ServingState
from services.serving.errors import install_error_handlers
from services.serving.generate import generate_frames
from services.serving.maintenance import Maintenance
from services.serving.metrics import RequestMetricsMiddleware, ServingMetrics
from services.serving.ratelimit import RateLimiter
from services.serving.registry_client import AliasSource
from services.serving.results import ResultStore
from services.serving.routes import admin, health, jobs, models, results
from services.serving.store import JobStore
from services.serving.waiters import JobWaiters
from services.serving.watcher import ModelWatcher
from services.serving.worker import Runner, WorkerConfig, WorkerPool
from vidforge.settings import Settings
from vidforge.store import open_store


def replica_name(settings: Settings) -> str:
    """``serving.replica_id``, or ``<hostname>-<8 hex>`` (a new one per process) when unset."""
    return settings.serving.replica_id or f"{socket.gethostname()}-{secrets.token_hex(4)}"


def build_state(
    settings: Settings,
    *,
    source_factory: Callable[[], AliasSource] | None = None,
    runner: Runner = generate_frames,
    devices: list[str] | None = None,
) -> ServingState:
    """Every per-app object, wired (nothing started). Raises SchemaOutOfDateError (job database behind)."""
    s = settings.serving
    metrics = ServingMetrics()
    store = JobStore.from_settings(settings)
    result_store = ResultStore(open_store(settings.store), s.results_prefix)
    watcher = ModelWatcher(settings, metrics, source_factory=source_factory, devices=devices)
    config = WorkerConfig.from_settings(settings, replica_name(settings), len(watcher.devices))
    waiters = JobWaiters()
    pool = WorkerPool(store, result_store, watcher, metrics, config, runner, on_end=waiters.notify)
    maintenance = Maintenance(store, result_store, metrics, interval_s=s.cleanup_interval_s,
                              max_attempts=s.max_attempts)
    metrics.bind(queue_depth=store.depth, running=lambda: pool.running, workers=config.workers,
                 capacity=s.max_queue)
    return ServingState(
        settings=settings, metrics=metrics, store=store, results=result_store, watcher=watcher, workers=pool,
        maintenance=maintenance, waiters=waiters, request_limiter=RateLimiter(s.request_rate_per_min, s.request_burst),
        submit_limiter=RateLimiter(s.submit_rate_per_min, s.submit_burst),
    )


def create_app(
    settings: Settings,
    *,
    start_background: bool = True,
    source_factory: Callable[[], AliasSource] | None = None,
    runner: Runner = generate_frames,
    devices: list[str] | None = None,
) -> FastAPI:
    """A new generation-service app; nothing is shared between apps but the database and the store.

    Args:
        settings: platform settings (``serving.*``, ``registry.url``/``token``/``model_name``, ``store``).
        start_background: start the watcher, workers and cleanup task with the lifespan. With False,
            drive them by hand through ``app.state.serving`` (``watcher.refresh_now()``,
            ``workers.run_next()`` or ``workers.start()``, ``maintenance.run_once()``).
        source_factory: builds the alias source (default: the registry's HTTP API at ``registry.url``).
        runner: the generation function workers call (default ``generate_frames``).
        devices: one device per worker (default from ``serving.device`` and ``serving.workers``).
    """
    state = build_state(settings, source_factory=source_factory, runner=runner, devices=devices)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if start_background:
            if settings.serving.replica_id:  # a stable name: the jobs it ran before a restart are ours to recover
                state.maintenance.recover(settings.serving.replica_id)
            state.watcher.start()
            state.workers.start()
            state.maintenance.start()
        try:
            yield
        finally:
            state.maintenance.stop()
            state.workers.stop()
            state.watcher.stop()
            state.store.dispose()

    app = FastAPI(
        title="vidforge generation service",
        description="Image-to-video jobs on the registry's production model: durable, idempotent, bounded, "
        "authenticated with scoped bearer tokens.",
        lifespan=lifespan,
    )
    app.state.serving = state
    app.add_middleware(BodyLimitMiddleware, limit=settings.serving.request_limit)
    app.add_middleware(RequestMetricsMiddleware, metrics=state.metrics)
    install_error_handlers(app)
    for module in (health, jobs, results, models, admin):
        app.include_router(module.router)
    return app
