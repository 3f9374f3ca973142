"""Prometheus metrics of one app instance, on its own ``CollectorRegistry``.

A per-app registry keeps several apps in one process (tests) from colliding
and lets ``/metrics`` expose exactly this service's series.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

_LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


class ServingMetrics:
    """Every series the generation service exports (prefix ``vidforge_serving_``)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "vidforge_serving_requests", "HTTP requests by route template, method and status.",
            ["route", "method", "status"], registry=r,
        )
        self.jobs_submitted = Counter("vidforge_serving_jobs_submitted", "Jobs accepted.", registry=r)
        self.jobs_finished = Counter(
            "vidforge_serving_jobs", "Jobs by final state.", ["state"], registry=r
        )
        self.queue_depth = Gauge("vidforge_serving_queue_depth", "Jobs waiting to run.", registry=r)
        self.generation_seconds = Histogram(
            "vidforge_serving_generation_seconds", "Wall time of one generation incl. encoding.",
            buckets=_LATENCY_BUCKETS, registry=r,
        )
        self.model_loads = Counter(
            "vidforge_serving_model_loads", "Model versions loaded and swapped in.", registry=r
        )
        self.model_load_failures = Counter(
            "vidforge_serving_model_load_failures", "Model versions refused or failed, by reason.",
            ["reason"], registry=r,
        )
        self.load_seconds = Histogram(
            "vidforge_serving_model_load_seconds", "Download + verify + load time of a version.",
            buckets=_LATENCY_BUCKETS, registry=r,
        )
        self.model_version = Gauge(
            "vidforge_serving_model_version", "Version number of the model serving now (0: none).",
            registry=r,
        )
        self.model_info = Info("vidforge_serving_model", "The model serving now.", registry=r)

    def render(self) -> bytes:
        """The text exposition of every series."""
        return generate_latest(self.registry)


class RequestMetricsMiddleware:
    """ASGI middleware counting HTTP requests by route template (not raw path)."""

    def __init__(self, app: ASGIApp, metrics: ServingMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(template, scope["method"], str(status["code"])).inc()
