"""``/v1/models/current``: which model serves, its request defaults and the service's bounds (``jobs:read``)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from services.serving.deps import Reader, StateDep
from services.serving.intake import image_bounds
from services.serving.schemas import CurrentModelPublic, ErrorPublic

router = APIRouter(prefix="/v1/models", tags=["models"])


@router.get("/current", response_model=CurrentModelPublic,
            responses={code: {"model": ErrorPublic} for code in (401, 403, 429, 503)})
def current_model(state: StateDep, _: Reader) -> CurrentModelPublic:
    """The model new jobs start on (503 before the first one is loaded)."""
    model = state.watcher.require()
    s, info, bounds = state.settings.serving, model.info, image_bounds(state, model)
    defaults = {**asdict(model.defaults), "motion_bucket_edges": list(model.defaults.motion_bucket_edges)}
    limits = {"max_frames": s.max_frames, "max_steps": s.max_steps, "max_side": s.max_side,
              "min_image_side": bounds.min_side, "max_image_pixels": bounds.max_pixels,
              "max_upload_bytes": s.max_upload_bytes, "max_request_bytes": s.request_limit,
              "max_active_jobs_per_token": s.max_active_jobs_per_token, "job_deadline_s": int(s.job_deadline_s)}
    return CurrentModelPublic(name=info.name, alias=state.watcher.alias, version=info.version, sha256=info.sha256,
                              artifact_uri=info.artifact_uri, loaded_at=info.loaded_at, defaults=defaults,
                              limits=limits)
