"""``/v1/jobs``: submit an image-to-video job, list your jobs, poll one, cancel it.

Every route needs a token: ``jobs:submit`` to submit and cancel,
``jobs:read`` to read; a caller sees only its own jobs (another caller's id
answers 404, like an unknown one).
"""

from __future__ import annotations

import itertools
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from services.serving.deps import Reader, StateDep, Submitter, only_query
from services.serving.entities import FINAL_STATES, JobState
from services.serving.errors import (
    InvalidParameterError,
    PayloadTooLargeError,
    RateLimitedError,
    RetryLaterError,
    ServingError,
)
from services.serving.intake import IDEMPOTENCY_HEADER, accept
from services.serving.params import request_fields
from services.serving.schemas import ErrorPublic, JobList, JobPublic, job_form_openapi

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorPublic} for code in (401, 403, 404, 409, 413, 422, 429, 503)
}
MAX_WAIT_S = 30.0
IdempotencyKey = Annotated[
    str | None,
    Header(alias=IDEMPOTENCY_HEADER, min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$",
           description="Same key and request: the same job again; same key, other request: 409."),
]


async def _read_form(request: Request, max_upload: int) -> tuple[dict[str, str], bytes]:
    """The form's text fields and the image bytes (at most ``max_upload`` + 1 read)."""
    form = await request.form(max_files=1, max_fields=len(request_fields()) + 4, max_part_size=64 * 1024)
    try:
        fields: dict[str, str] = {}
        image: bytes | None = None
        for name, value in form.multi_items():
            if name in fields or (name == "image" and image is not None):
                raise InvalidParameterError(f"{name}: given more than once")
            if name == "image":
                if not isinstance(value, UploadFile):
                    raise InvalidParameterError("image: must be a file (multipart/form-data with a filename)")
                image = await value.read(max_upload + 1)
            elif isinstance(value, UploadFile):
                fields[name] = "<file>"
            else:
                fields[name] = value
        if image is None:
            raise InvalidParameterError("image: Field required")
        if len(image) > max_upload:
            raise PayloadTooLargeError(f"image is over {max_upload} bytes, the limit")
        return fields, image
    finally:
        await form.close()


@router.post("", status_code=202, response_model=JobPublic, responses=_ERRORS,
             openapi_extra={"requestBody": job_form_openapi()}, dependencies=[Depends(only_query())])
async def submit_job(
    request: Request, response: Response, state: StateDep, who: Submitter, idempotency_key: IdempotencyKey = None,
) -> JobPublic:
    """Queue a generation (202 with the job; ``Location`` names its status URL).

    Omitted parameters take the model's defaults (``vidforge.json``); ``seed``
    defaults to a random value the status reports. The image is checked from its
    header against the bounds, then resized to the job's resolution. A job runs on
    the model live when it starts, and records that model's name, version and
    sha256. 429 (with ``Retry-After``) when the caller is over its rate or quota,
    or the queue is full.
    """
    try:
        wait = state.submit_limiter.take(who.name)
        if wait:
            raise RateLimitedError(f"token {who.name!r} is over its submission rate; retry in {wait:.1f} s", wait)
        fields, image = await _read_form(request, state.settings.serving.max_upload_bytes)
        job, replayed = await run_in_threadpool(accept, state, who.name, fields, image, idempotency_key)
    except ServingError as e:
        reason = e.code if isinstance(e, RetryLaterError) else "invalid"
        if e.http_status < 500:
            state.metrics.jobs_rejected.labels(reason).inc()
        raise
    if not replayed:
        state.metrics.jobs_submitted.inc()
        state.workers.notify()
    response.headers["Location"] = f"/v1/jobs/{job.job_id}"
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return JobPublic.from_job(job)


@router.get("", response_model=JobList, responses=_ERRORS,
            dependencies=[Depends(only_query("status", "limit", "cursor"))])
def list_jobs(
    state: StateDep, who: Reader,
    status: Annotated[JobState | None, Query(description="Only jobs in this state.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512, description="next_cursor of the previous page")] = None,
) -> JobList:
    """Your jobs, newest first, a page at a time."""
    page = state.store.list_jobs(who.name, status, limit, cursor)
    return JobList(jobs=[JobPublic.from_job(j) for j in page.jobs], next_cursor=page.next_cursor)


@router.get("/{job_id}", response_model=JobPublic, responses=_ERRORS, dependencies=[Depends(only_query("wait"))])
async def get_job(
    job_id: str, state: StateDep, who: Reader,
    wait: Annotated[float, Query(ge=0, le=MAX_WAIT_S, description="Long-poll: wait up to this many seconds "
                                 "for the job to end before answering.")] = 0.0,
) -> JobPublic:
    """Status, progress, parameters, timings and the model (name, version, sha256) of one of your jobs."""
    deadline = time.monotonic() + wait
    for round_no in itertools.count():
        job = await run_in_threadpool(state.store.get, job_id, who.name)
        if job.state in FINAL_STATES or time.monotonic() >= deadline:
            return JobPublic.from_job(job)
        await state.waiters.wait(job_id, deadline - time.monotonic(), round_no)
    raise AssertionError("unreachable")  # pragma: no cover


@router.delete("/{job_id}", status_code=202, response_model=JobPublic, responses=_ERRORS,
               dependencies=[Depends(only_query())])
def cancel_job(job_id: str, state: StateDep, who: Submitter) -> JobPublic:
    """Cancel one of your jobs: a queued one ends now, a running one at its next step (409 if it ended)."""
    job = state.store.cancel(job_id, who.name)
    state.workers.cancel_local(job_id)
    return JobPublic.from_job(job)
