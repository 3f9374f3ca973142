"""``/v1/jobs/{job_id}/video`` and ``/frames``: download a succeeded job's results (``jobs:read``).

409 while the job has not succeeded; 410 once its results expired; 404 for
frames of a job submitted without ``return_frames``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse, Response

from services.serving.deps import Reader, StateDep, only_query
from services.serving.entities import Job, JobState
from services.serving.errors import (
    FramesNotRequestedError,
    JobNotFinishedError,
    ResultExpiredError,
)
from services.serving.schemas import ErrorPublic

router = APIRouter(prefix="/v1/jobs", tags=["results"])

_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorPublic} for code in (401, 403, 404, 409, 410, 429)
}


def _finished(job: Job) -> Job:
    if job.state != JobState.SUCCEEDED:
        raise JobNotFinishedError(f"job {job.job_id} is {job.state}; its results are not available")
    if job.results_deleted:
        raise ResultExpiredError(f"the results of job {job.job_id} expired at {job.expires_at} and were deleted")
    return job


def _send(state: StateDep, key: str, media_type: str, filename: str, job: Job) -> Response:
    try:
        found = state.results.open(key)
    except FileNotFoundError:
        raise ResultExpiredError(f"the results of job {job.job_id} are gone from the object store") from None
    if found.path is not None:
        return FileResponse(found.path, media_type=media_type, filename=filename)
    return Response(found.data, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/{job_id}/video", response_class=Response, dependencies=[Depends(only_query())],
            responses={200: {"content": {"video/mp4": {}}}, **_ERRORS})
def get_video(job_id: str, state: StateDep, who: Reader) -> Response:
    """The job's H.264 mp4; its metadata names the model (``vidforge_model_*`` tags) and the job."""
    job = _finished(state.store.get(job_id, who.name))
    return _send(state, job.video_key, "video/mp4", f"{job_id}.mp4", job)


@router.get("/{job_id}/frames", response_class=Response, dependencies=[Depends(only_query())],
            responses={200: {"content": {"application/zip": {}}}, **_ERRORS})
def get_frames(job_id: str, state: StateDep, who: Reader) -> Response:
    """The job's frames as a zip of lossless PNGs plus ``job.json`` (jobs submitted with ``return_frames``)."""
    job = _finished(state.store.get(job_id, who.name))
    if not job.frames_key:
        raise FramesNotRequestedError(f"job {job_id} was submitted without return_frames; only its video exists")
    return _send(state, job.frames_key, "application/zip", f"{job_id}-frames.zip", job)
