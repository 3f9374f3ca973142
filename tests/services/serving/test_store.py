"""JobStore on SQLite and PostgreSQL: idempotent submit, quota, queue bound, listing, cancel, isolation."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from services.serving.entities import JobState
from services.serving.errors import (
    IdempotencyConflictError,
    InvalidParameterError,
    JobFinishedError,
    JobNotFoundError,
    QueueFullError,
    QuotaExceededError,
)
from services.serving.store import JobStore, NewJob, SubmitLimits

LIMITS = SubmitLimits(max_queued=50, max_active_per_owner=50, retry_after_s=7.2)
PARAMS = {"height": 32, "width": 32, "num_frames": 2, "num_inference_steps": 2, "fps": 6, "motion_bucket_id": 127,
          "noise_aug_strength": 0.02, "min_guidance_scale": 1.0, "max_guidance_scale": 3.0, "seed": 1,
          "motion_score": None}


@pytest.fixture
def store(jobs_db_url: str) -> Iterator[JobStore]:
    opened = JobStore(jobs_db_url)
    yield opened
    opened.dispose()


def new(owner: str = "alice", key: str | None = None, body: str = "h", **kw: Any) -> NewJob:
    return NewJob(owner=owner, params=PARAMS, total_steps=2, image_png=b"png:" + body.encode(), request_hash=body,
                  idempotency_key=key, **kw)


def test_submit_stores_a_queued_job_with_an_unguessable_id(store: JobStore) -> None:
    job, replayed = store.submit(new(return_frames=True), LIMITS)
    assert not replayed and job.state == JobState.QUEUED and job.model is None
    assert re.fullmatch(r"job-[0-9a-f]{32}", job.job_id)  # 128 random bits
    assert (job.params, job.total_steps, job.return_frames, job.attempts) == (PARAMS, 2, True, 0)
    assert store.get(job.job_id) == store.get(job.job_id, "alice") == job
    ids = {store.submit(new(), LIMITS)[0].job_id for _ in range(5)}
    assert len(ids) == 5 and store.depth() == 6


def test_idempotency_key_replays_or_conflicts(store: JobStore) -> None:
    first, _ = store.submit(new(key="k-1", body="A"), LIMITS)
    again, replayed = store.submit(new(key="k-1", body="A"), LIMITS)
    assert replayed and again.job_id == first.job_id
    with pytest.raises(IdempotencyConflictError, match=f"job {first.job_id} with a different request") as info:
        store.submit(new(key="k-1", body="B"), LIMITS)
    assert info.value.http_status == 409
    other, replayed = store.submit(new(owner="bob", key="k-1", body="B"), LIMITS)  # keys are per caller
    assert not replayed and other.job_id != first.job_id
    full = SubmitLimits(max_queued=1, max_active_per_owner=1)
    assert store.submit(new(key="k-1", body="A"), full)[1]  # a replay answers even when the bounds are hit


def test_concurrent_submits_with_one_key_make_one_job(store: JobStore) -> None:
    found: list[str] = []
    barrier = threading.Barrier(4)

    def submit() -> None:
        barrier.wait()
        found.append(store.submit(new(key="same", body="A"), LIMITS)[0].job_id)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(found) == 4 and len(set(found)) == 1 and store.depth() == 1


def test_quota_per_owner_and_queue_bound_answer_with_retry_after(store: JobStore) -> None:
    limits = SubmitLimits(max_queued=3, max_active_per_owner=2, retry_after_s=7.2)
    store.submit(new("alice"), limits)
    store.submit(new("alice"), limits)
    with pytest.raises(QuotaExceededError, match="2 queued or running jobs; the limit is 2") as quota:
        store.submit(new("alice"), limits)
    assert (quota.value.http_status, quota.value.headers) == (429, {"Retry-After": "8"})
    store.submit(new("bob"), limits)
    with pytest.raises(QueueFullError, match=r"full \(3 waiting\)") as full:
        store.submit(new("carol"), limits)
    assert full.value.headers == {"Retry-After": "8"}


def test_list_is_own_jobs_newest_first_paginated_and_filtered(store: JobStore) -> None:
    mine = [store.submit(new("alice"), LIMITS)[0].job_id for _ in range(5)]
    store.submit(new("bob"), LIMITS)
    store.cancel(mine[1], "alice")
    seen, cursor = [], None
    while True:
        page = store.list_jobs("alice", limit=2, cursor=cursor)
        seen += [j.job_id for j in page.jobs]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == mine[::-1]
    assert [j.job_id for j in store.list_jobs("alice", JobState.CANCELLED).jobs] == [mine[1]]
    assert len(store.list_jobs("bob").jobs) == 1 and store.list_jobs("nobody").jobs == []
    with pytest.raises(InvalidParameterError, match="limit=0"):
        store.list_jobs("alice", limit=0)
    with pytest.raises(InvalidParameterError, match="not a cursor"):
        store.list_jobs("alice", cursor="bogus!")


def test_another_owners_job_is_not_found(store: JobStore) -> None:
    job, _ = store.submit(new("alice"), LIMITS)
    for call in (lambda: store.get(job.job_id, "bob"), lambda: store.cancel(job.job_id, "bob")):
        with pytest.raises(JobNotFoundError, match=f"no job '{job.job_id}'"):
            call()
    with pytest.raises(JobNotFoundError):
        store.get("job-unknown")


def test_cancel_queued_ends_now_and_twice_is_409(store: JobStore) -> None:
    job, _ = store.submit(new(), LIMITS)
    done = store.cancel(job.job_id, "alice")
    assert (done.state, done.error_code, done.cancel_requested) == (JobState.CANCELLED, "cancelled", True)
    assert done.finished_at is not None and store.depth() == 0
    with pytest.raises(JobFinishedError, match="already cancelled"):
        store.cancel(job.job_id, "alice")
    counts = store.counts()
    assert counts[JobState.CANCELLED] == 1 and counts[JobState.QUEUED] == 0
