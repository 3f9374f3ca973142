"""Response schemas of the generation API (requests are multipart forms, see routes/jobs.py)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from services.serving.jobs import JobState, JobStatus


class ErrorPublic(BaseModel):
    """Every 4xx/5xx body: a stable ``error`` code and a human ``message``."""

    error: str
    message: str


class JobAccepted(BaseModel):
    """Answer to a submitted job."""

    job_id: str
    status: JobState
    model_version: int


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


class JobPublic(BaseModel):
    """Status of one job; ``video_url`` is set once it succeeded."""

    job_id: str
    status: JobState
    model_name: str
    model_version: int
    params: ParamsPublic
    progress: ProgressPublic
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    queued_s: float | None = Field(description="Seconds from submit to start.")
    run_s: float | None = Field(description="Seconds from start to finish.")
    error: str
    video_url: str | None

    @classmethod
    def from_status(cls, s: JobStatus) -> JobPublic:
        """Public view of a queue snapshot."""
        return cls(
            job_id=s.job_id, status=s.state, model_name=s.model_name, model_version=s.model_version,
            params=ParamsPublic(**s.params), progress=ProgressPublic(step=s.step, total_steps=s.total_steps),
            cancel_requested=s.cancel_requested, created_at=s.created_at, started_at=s.started_at,
            finished_at=s.finished_at, queued_s=s.queued_s, run_s=s.run_s, error=s.error,
            video_url=f"/v1/jobs/{s.job_id}/video" if s.state == JobState.SUCCEEDED else None,
        )


class HealthPublic(BaseModel):
    """Liveness answer."""

    status: str


class ReadyPublic(BaseModel):
    """Readiness answer: which model serves, or why none does."""

    status: str
    model_name: str
    model_version: int | None
    reason: str
    queue_depth: int


class ReloadAccepted(BaseModel):
    """Answer to the reload webhook: a poll was scheduled."""

    triggered: bool
    model_version: int | None
