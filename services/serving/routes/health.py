"""Liveness, readiness and Prometheus metrics — the three routes that need no token.

``/readyz`` is 200 only when a warmed-up model serves, the alias does not point
at a version that failed to load, and the job database answers (KServe/Triton
style: readiness gates traffic, liveness only says the process serves HTTP).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from services.serving.deps import StateDep
from services.serving.schemas import HealthPublic, ReadyPublic

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthPublic)
def healthz() -> HealthPublic:
    """200 while the process serves HTTP."""
    return HealthPublic(status="ok")


@router.get("/readyz", response_model=ReadyPublic, responses={503: {"model": ReadyPublic}})
async def readyz(state: StateDep) -> JSONResponse:
    """200 when this replica should take traffic; 503 with the reason otherwise."""
    ready = state.watcher.readiness()
    reason, ok = ready.reason, ready.ready
    try:
        depth: int | None = await run_in_threadpool(state.store.depth)
    except Exception as e:  # the job database is away: nothing can be submitted or read
        depth, ok, reason = None, False, f"job database unavailable: {type(e).__name__}"
    model = state.watcher.current()
    body = ReadyPublic(
        status="ready" if ok else "not_ready", model_name=state.watcher.name,
        model_version=ready.serving_version, model_sha256=model.info.sha256 if model else None,
        target_version=ready.target_version, reason=reason, queue_depth=depth,
        running_jobs=state.workers.running,
    )
    state.metrics.ready.set(1 if ok else 0)
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ok else 503)


@router.get("/metrics", response_class=Response)
async def metrics(state: StateDep) -> Response:
    """Prometheus text exposition of this app's registry."""
    body = await run_in_threadpool(state.metrics.render)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
