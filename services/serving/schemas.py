"""Request and response schemas of the generation API (apart from the ORM and the store's entities).

``POST /v1/jobs`` is a multipart form; :class:`JobForm` validates its fields
(types only: ranges that depend on the model or settings are checked by
:func:`services.serving.params.resolve_params`, with messages naming the
value) and :func:`job_form_openapi` describes it, with the ``image`` file, in
the OpenAPI schema.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.serving.entities import Job, JobState, TokenInfo
from services.serving.params import JobRequest

_MOTION_SCORE = (
    "Desired motion as a curation motion score (>= 0, optical-flow pixels per second on the 32-px-short-side "
    "analysis frames), mapped to motion_bucket_id with the dataset quantile edges of the model that runs the job. "
    "Exclusive with motion_bucket_id; 422 if the model has no edges."
)


class JobForm(BaseModel):
    """The fields of ``POST /v1/jobs`` besides ``image``; omitted ones take the model's defaults."""

    model_config = ConfigDict(extra="forbid")

    num_frames: int | None = Field(None, description="Frames of the clip (2..serving.max_frames).",
                                   json_schema_extra={"minimum": 2})
    fps: int | None = Field(None, description="Playback rate and fps conditioning (1..60).",
                            json_schema_extra={"minimum": 1, "maximum": 60})
    motion_bucket_id: int | None = Field(
        None, description="Motion conditioning 0..255 (default 127). Exclusive with motion_score.",
        json_schema_extra={"minimum": 0, "maximum": 255},
    )
    motion_score: float | None = Field(None, description=_MOTION_SCORE, json_schema_extra={"minimum": 0})
    noise_aug_strength: float | None = Field(None, description="Noise added to the conditioning frame (0..1, "
                                             "default 0.02).", json_schema_extra={"minimum": 0, "maximum": 1})
    num_inference_steps: int | None = Field(None, description="Denoising steps (1..serving.max_steps).",
                                            json_schema_extra={"minimum": 1})
    seed: int | None = Field(None, description="Seed of the sampler (0..2^32-1; default random, reported).",
                             json_schema_extra={"minimum": 0, "maximum": 2**32 - 1})
    min_guidance_scale: float | None = Field(None, description="Guidance of the first frame (0..20, default 1).",
                                             json_schema_extra={"minimum": 0, "maximum": 20})
    max_guidance_scale: float | None = Field(None, description="Guidance of the last frame (0..20, default 3).",
                                             json_schema_extra={"minimum": 0, "maximum": 20})
    height: int | None = Field(None, description="Video height, a multiple of 8 (default: the model's).",
                               json_schema_extra={"minimum": 16, "multipleOf": 8})
    width: int | None = Field(None, description="Video width, a multiple of 8 (default: the model's).",
                              json_schema_extra={"minimum": 16, "multipleOf": 8})
    return_frames: bool = Field(False, description="Also keep the frames as a zip of lossless PNGs "
                                "(GET /v1/jobs/{job_id}/frames).")

    def to_request(self) -> JobRequest:
        """The generation part of the form."""
        return JobRequest(**self.model_dump(exclude={"return_frames"}))


def job_form_openapi() -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of ``POST /v1/jobs``: a multipart form with the ``image`` file."""
    props: dict[str, Any] = {
        "image": {"type": "string", "format": "binary",
                  "description": "Conditioning frame, PNG or JPEG; resized to the job's resolution on arrival."},
    }
    for name, schema in JobForm.model_json_schema()["properties"].items():
        branch = next((b for b in schema.pop("anyOf", []) if b.get("type") != "null"), {})
        schema.pop("default", None)
        props[name] = {**branch, **schema}
    body = {"type": "object", "properties": props, "required": ["image"], "additionalProperties": False}
    return {"required": True, "content": {"multipart/form-data": {"schema": body}}}


class ErrorPublic(BaseModel):
    """Every 4xx/5xx body: a stable ``error`` code and a human ``message``."""

    error: str
    message: str


class ParamsPublic(BaseModel):
    """The resolved parameters a job runs with (defaults filled in)."""

    height: int
    width: int
    num_frames: int
    num_inference_steps: int
    fps: int
    motion_bucket_id: int = Field(description="Effective motion conditioning, 0..255 (given or mapped).")
    motion_score: float | None = Field(
        default=None,
        description="The request's motion score (analysis px/s) that motion_bucket_id was mapped from, if given.",
    )
    noise_aug_strength: float
    min_guidance_scale: float
    max_guidance_scale: float
    seed: int


class ProgressPublic(BaseModel):
    """Denoising steps done out of the total."""

    step: int
    total_steps: int
    fraction: float = Field(description="step / total_steps, 0..1.")


class ModelPublic(BaseModel):
    """The registry version that ran the job (also written into the mp4's metadata)."""

    name: str
    version: int
    sha256: str


class ResultsPublic(BaseModel):
    """Where the job's results are; null until it succeeded, and after they expired."""

    video_url: str | None
    frames_url: str | None
    expires_at: datetime | None


class JobPublic(BaseModel):
    """Status of one job."""

    job_id: str
    status: JobState
    model: ModelPublic | None = Field(description="Null until a worker started the job.")
    params: ParamsPublic
    progress: ProgressPublic
    return_frames: bool
    cancel_requested: bool
    attempts: int = Field(description="Runs started (a run whose replica was lost is retried).")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    queued_s: float | None = Field(description="Seconds from submit to start.")
    run_s: float | None = Field(description="Seconds from start to finish.")
    error_code: str = Field(description="Empty, or e.g. deadline_exceeded, worker_lost, generation_failed.")
    error: str
    retryable: bool = Field(description="Whether submitting the same request again may succeed.")
    idempotency_key: str | None
    results: ResultsPublic

    @classmethod
    def from_job(cls, job: Job) -> JobPublic:
        """Public view of a store snapshot."""
        done = job.state == JobState.SUCCEEDED and not job.results_deleted
        base = f"/v1/jobs/{job.job_id}"
        model = ModelPublic(**job.model.to_dict()) if job.model else None
        total = max(1, job.total_steps)
        return cls(
            job_id=job.job_id, status=job.state, model=model, params=ParamsPublic(**job.params),
            progress=ProgressPublic(step=job.step, total_steps=job.total_steps, fraction=round(job.step / total, 4)),
            return_frames=job.return_frames, cancel_requested=job.cancel_requested, attempts=job.attempts,
            created_at=job.created_at, started_at=job.started_at, finished_at=job.finished_at,
            queued_s=job.queued_s, run_s=job.run_s, error_code=job.error_code, error=job.error,
            retryable=job.retryable, idempotency_key=job.idempotency_key,
            results=ResultsPublic(
                video_url=f"{base}/video" if done else None,
                frames_url=f"{base}/frames" if done and job.frames_key else None,
                expires_at=job.expires_at,
            ),
        )


class JobList(BaseModel):
    """A page of the caller's jobs, newest first; pass ``next_cursor`` as ``cursor`` for the next page."""

    jobs: list[JobPublic]
    next_cursor: str | None


class HealthPublic(BaseModel):
    """Liveness answer."""

    status: str


class ReadyPublic(BaseModel):
    """Readiness answer: which model serves, which one the alias wants, or why this replica is not ready."""

    status: str
    model_name: str
    model_version: int | None
    model_sha256: str | None
    target_version: int | None
    reason: str
    queue_depth: int | None
    running_jobs: int


class CurrentModelPublic(BaseModel):
    """The model serving now, its request defaults and the service's bounds."""

    name: str
    alias: str
    version: int
    sha256: str
    artifact_uri: str
    loaded_at: datetime
    defaults: dict[str, Any]
    limits: dict[str, int]


class ReloadAccepted(BaseModel):
    """Answer to the reload webhook: a poll was scheduled."""

    triggered: bool
    model_version: int | None


class TokenCreate(BaseModel):
    """A new serving token's name and scopes."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    scopes: list[str] = Field(min_length=1, max_length=3, description="jobs:submit, jobs:read, admin")


class TokenPublic(BaseModel):
    """A token (never its value)."""

    name: str
    scopes: list[str]
    created_by: str
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def from_info(cls, info: TokenInfo) -> TokenPublic:
        """Public view of a stored token."""
        return cls(name=info.name, scopes=list(info.scopes), created_by=info.created_by,
                   created_at=info.created_at, revoked_at=info.revoked_at)


class TokenCreated(TokenPublic):
    """A created token with its value, shown this once."""

    token: str
