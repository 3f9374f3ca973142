"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from services.serving.deps import JobsDep, MetricsDep, WatcherDep
from services.serving.schemas import HealthPublic, ReadyPublic

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthPublic)
def healthz() -> HealthPublic:
    """200 while the process serves HTTP."""
    return HealthPublic(status="ok")


@router.get("/readyz", response_model=ReadyPublic, responses={503: {"model": ReadyPublic}})
def readyz(watcher: WatcherDep, jobs: JobsDep) -> JSONResponse:
    """200 once a verified model is loaded; 503 with the reason before that."""
    model = watcher.current()
    body = ReadyPublic(
        status="ready" if model else "not_ready",
        model_name=watcher.name,
        model_version=model.info.version if model else None,
        reason=watcher.status,
        queue_depth=jobs.depth,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if model else 503)


@router.get("/metrics", response_class=Response)
def metrics(m: MetricsDep) -> Response:
    """Prometheus text exposition of this app's registry."""
    return Response(m.render(), media_type=CONTENT_TYPE_LATEST)
