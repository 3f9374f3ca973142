"""``/v1/jobs``: submit an image-to-video job, poll it, fetch its mp4, cancel it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import FileResponse

from services.serving.deps import JobsDep, LimitsDep, SettingsDep, WatcherDep
from services.serving.params import JobRequest, load_image, resolve_params
from services.serving.schemas import ErrorPublic, JobAccepted, JobPublic

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorPublic} for code in (404, 409, 413, 422, 429, 503)
}

OptInt = Annotated[int | None, Form()]
OptFloat = Annotated[float | None, Form()]
MotionBucketId = Annotated[
    int | None, Form(description="Motion conditioning 0..255 (default 127). Exclusive with motion_score."),
]
MotionScore = Annotated[
    float | None,
    Form(description=(
        "Desired motion as a curation motion score (>= 0, optical-flow pixels per second on the "
        "32-px-short-side analysis frames), mapped to motion_bucket_id with the serving model's "
        "dataset quantile edges. Exclusive with motion_bucket_id; 422 if the model has no edges."
    )),
]


@router.post("", status_code=202, response_model=JobAccepted, responses=_ERRORS)
def submit_job(
    watcher: WatcherDep,
    jobs: JobsDep,
    limits: LimitsDep,
    settings: SettingsDep,
    image: Annotated[UploadFile, File(description="Conditioning frame, PNG or JPEG.")],
    fps: OptInt = None,
    motion_bucket_id: MotionBucketId = None,
    motion_score: MotionScore = None,
    num_frames: OptInt = None,
    num_inference_steps: OptInt = None,
    seed: OptInt = None,
    height: OptInt = None,
    width: OptInt = None,
    noise_aug_strength: OptFloat = None,
    min_guidance_scale: OptFloat = None,
    max_guidance_scale: OptFloat = None,
) -> JobAccepted:
    """Queue a generation on the model serving now (503 if none, 429 if the queue is full).

    Omitted fields take the model's defaults (``vidforge.json``); ``seed``
    defaults to a random value that the job's status reports. ``motion_score``
    is mapped with the edges of the model this job is bound to, so after a hot
    swap the new model's mapping applies; the status shows the effective
    ``motion_bucket_id`` and the ``motion_score`` it came from.
    """
    model = watcher.require()
    max_bytes = settings.serving.max_upload_bytes
    pil = load_image(image.file.read(max_bytes + 1), max_bytes)
    req = JobRequest(
        fps=fps, motion_bucket_id=motion_bucket_id, motion_score=motion_score, num_frames=num_frames,
        num_inference_steps=num_inference_steps, seed=seed, height=height, width=width,
        noise_aug_strength=noise_aug_strength, min_guidance_scale=min_guidance_scale,
        max_guidance_scale=max_guidance_scale,
    )
    params = resolve_params(req, model.defaults, limits)
    status = jobs.submit(model, pil, params)
    return JobAccepted(job_id=status.job_id, status=status.state, model_version=status.model_version)


@router.get("/{job_id}", response_model=JobPublic, responses=_ERRORS)
def get_job(job_id: str, jobs: JobsDep) -> JobPublic:
    """Status, parameters, timings and model version of a job."""
    return JobPublic.from_status(jobs.get(job_id))


@router.get(
    "/{job_id}/video",
    response_class=FileResponse,
    responses={200: {"content": {"video/mp4": {}}}, **_ERRORS},
)
def get_video(job_id: str, jobs: JobsDep) -> FileResponse:
    """The job's H.264 mp4 (409 until it succeeded)."""
    return FileResponse(jobs.video_path(job_id), media_type="video/mp4", filename=f"{job_id}.mp4")


@router.delete("/{job_id}", status_code=202, response_model=JobPublic, responses=_ERRORS)
def cancel_job(job_id: str, jobs: JobsDep) -> JobPublic:
    """Cancel a job: queued ones end now, running ones after the current step (409 if finished)."""
    return JobPublic.from_status(jobs.cancel(job_id))
