"""Prometheus metrics of one app instance, on its own ``CollectorRegistry``.

Names follow Prometheus conventions (base units, ``_total`` counters,
``_seconds`` histograms, an ``_info`` series carrying labels); all start with
``vidforge_serving_``. A per-app registry keeps several apps in one process
(tests) from colliding and lets ``/metrics`` expose exactly this service.

Queue depth is read from the job database at scrape time, so every replica
reports the same global figure (alert on ``max``); running jobs and readiness
are this replica's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

GENERATION_BUCKETS = (0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1800)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
#: ``outcome`` label values of job series.
OUTCOMES = ("succeeded", "failed", "cancelled", "deadline_exceeded")


class ServingMetrics:
    """Every series the generation service exports."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        p = "vidforge_serving_"
        self.http_requests = Counter(f"{p}http_requests", "HTTP requests by route template, method and status.",
                                     ["route", "method", "status"], registry=r)
        self.http_duration = Histogram(f"{p}http_request_duration_seconds", "HTTP request latency.",
                                       ["route", "method"], buckets=HTTP_BUCKETS, registry=r)
        self.jobs_submitted = Counter(f"{p}jobs_submitted", "Jobs accepted (idempotent replays excluded).",
                                      registry=r)
        self.jobs_rejected = Counter(f"{p}jobs_rejected", "Submissions refused, by reason (queue_full, "
                                     "quota_exceeded, rate_limited, invalid).", ["reason"], registry=r)
        self.jobs = Counter(f"{p}jobs", "Jobs run to an end on this replica, by outcome.", ["outcome"], registry=r)
        self.generation_seconds = Histogram(
            f"{p}generation_duration_seconds", "Wall time of one run (generation, encoding, upload), by outcome.",
            ["outcome"], buckets=GENERATION_BUCKETS, registry=r)
        self.queue_wait_seconds = Histogram(f"{p}queue_wait_seconds", "Time from submit to start of a job.",
                                            buckets=GENERATION_BUCKETS, registry=r)
        self.queue_depth = Gauge(f"{p}queue_depth", "Jobs waiting to run (all replicas).", registry=r)
        self.queue_capacity = Gauge(f"{p}queue_capacity", "Jobs that may wait before submit answers 429.",
                                    registry=r)
        self.running_jobs = Gauge(f"{p}running_jobs", "Jobs running on this replica.", registry=r)
        self.workers = Gauge(f"{p}workers", "Worker threads of this replica.", registry=r)
        self.jobs_requeued = Counter(f"{p}jobs_requeued", "Jobs put back in the queue (lost replica, shutdown).",
                                     registry=r)
        self.results_deleted = Counter(f"{p}results_deleted", "Job results deleted (expired or orphaned).",
                                       registry=r)
        self.model_loads = Counter(f"{p}model_loads", "Model versions loaded, warmed up and swapped in.", registry=r)
        self.model_load_failures = Counter(f"{p}model_load_failures",
                                           "Failed registry polls and refused model versions, by reason.",
                                           ["reason"], registry=r)
        self.model_load_seconds = Histogram(f"{p}model_load_duration_seconds", "Load + warm-up time of a version.",
                                            buckets=GENERATION_BUCKETS, registry=r)
        self.model_version = Gauge(f"{p}model_version", "Version serving now (0: none).", registry=r)
        self.model_info = Info(f"{p}model", "The model serving now: name, version, sha256.", registry=r)
        self.ready = Gauge(f"{p}ready", "1 when this replica is ready (see /readyz), else 0.", registry=r)

    def set_model(self, name: str, version: int, sha256: str) -> None:
        """Record the model serving now."""
        self.model_version.set(version)
        self.model_info.info({"name": name, "version": str(version), "sha256": sha256})

    def bind(self, *, queue_depth: Callable[[], float], running: Callable[[], float], workers: int,
             capacity: int) -> None:
        """Read ``queue_depth`` and ``running`` at scrape time (NaN when the read fails)."""
        self.queue_depth.set_function(_safe(queue_depth))
        self.running_jobs.set_function(_safe(running))
        self.workers.set(workers)
        self.queue_capacity.set(capacity)

    def render(self) -> bytes:
        """The text exposition of every series."""
        return generate_latest(self.registry)


def _safe(read: Callable[[], float]) -> Callable[[], float]:
    def value() -> float:
        try:
            return float(read())
        except Exception:  # a scrape must not fail because the database blinked
            return float("nan")

    return value


class RequestMetricsMiddleware:
    """ASGI middleware counting and timing HTTP requests by route template (never the raw path)."""

    def __init__(self, app: ASGIApp, metrics: ServingMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.http_requests.labels(template, scope["method"], str(status["code"])).inc()
            self.metrics.http_duration.labels(template, scope["method"]).observe(time.perf_counter() - started)
