"""Public schemas: the multipart form's OpenAPI description and the job status view."""

from __future__ import annotations

from datetime import UTC, datetime

from services.serving.entities import Job, JobState, ModelStamp
from services.serving.schemas import JobPublic, job_form_openapi

PARAMS = {"height": 32, "width": 32, "num_frames": 2, "num_inference_steps": 4, "fps": 6, "motion_bucket_id": 127,
          "noise_aug_strength": 0.02, "min_guidance_scale": 1.0, "max_guidance_scale": 3.0, "seed": 1,
          "motion_score": None}


def test_form_schema_has_no_nulls_and_requires_only_the_image() -> None:
    body = job_form_openapi()["content"]["multipart/form-data"]["schema"]
    assert body["required"] == ["image"] and body["additionalProperties"] is False
    assert body["properties"]["seed"] == {"type": "integer", "minimum": 0, "maximum": 2**32 - 1,
                                          "description": body["properties"]["seed"]["description"], "title": "Seed"}
    assert all("anyOf" not in p and "null" not in str(p.get("type")) for p in body["properties"].values())


def _job(**kw: object) -> Job:
    base: dict[str, object] = dict(
        job_id="job-1", owner="a", state=JobState.SUCCEEDED, params=PARAMS, return_frames=True, idempotency_key="k",
        model=ModelStamp("m", 2, "ab" * 32), step=3, total_steps=4, attempts=1, cancel_requested=False,
        error_code="", error="", retryable=False, created_at=datetime(2026, 1, 1, tzinfo=UTC),
        started_at=datetime(2026, 1, 1, 0, 0, 2, tzinfo=UTC), finished_at=datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC),
        expires_at=None, results_deleted=False, video_key="v", frames_key="f")
    return Job(**{**base, **kw})  # type: ignore[arg-type]


def test_job_public_view() -> None:
    view = JobPublic.from_job(_job())
    assert view.model is not None and view.model.version == 2
    assert (view.progress.fraction, view.queued_s, view.run_s) == (0.75, 2.0, 3.0)
    assert view.results.video_url == "/v1/jobs/job-1/video" and view.results.frames_url == "/v1/jobs/job-1/frames"
    gone = JobPublic.from_job(_job(results_deleted=True))
    assert gone.results.video_url is gone.results.frames_url is None
    queued = JobPublic.from_job(_job(state=JobState.QUEUED, model=None, started_at=None, finished_at=None))
    assert queued.model is None and queued.queued_s is None and queued.results.video_url is None
