"""The worker side of the store: row-level claims (also across two processes), leases, recovery."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.serving.entities import JobState, ModelStamp
from services.serving.queue import Outcome
from services.serving.store import JobStore, SubmitLimits
from tests.services.serving.test_store import new

ROOT = Path(__file__).resolve().parents[3]
STAMP = ModelStamp("m", 3, "ab" * 32)
LIMITS = SubmitLimits(max_queued=500, max_active_per_owner=500)


@pytest.fixture
def store(jobs_db_url: str) -> Iterator[JobStore]:
    opened = JobStore(jobs_db_url)
    yield opened
    opened.dispose()


def _now() -> datetime:
    return datetime.now(UTC)


def test_claim_takes_the_oldest_and_records_the_model(store: JobStore) -> None:
    first, _ = store.submit(new(body="one"), LIMITS)
    store.submit(new(body="two"), LIMITS)
    at = _now()
    claimed = store.claim("r1", STAMP, at, lease_s=30)
    assert claimed is not None and claimed.job.job_id == first.job_id
    job = claimed.job
    assert (job.state, job.model, job.started_at, job.attempts) == (JobState.RUNNING, STAMP, at, 1)
    assert claimed.image_png == b"png:one" and len(claimed.claim_token) == 32
    assert store.depth() == 1


def test_progress_finish_and_stale_claims(store: JobStore) -> None:
    store.submit(new(), LIMITS)
    claimed = store.claim("r1", STAMP, _now(), 30)
    assert claimed is not None
    job_id, token = claimed.job.job_id, claimed.claim_token
    assert store.progress(job_id, token, 1, 30) is False
    assert store.progress(job_id, "stale", 1, 30) is None
    store.cancel(job_id, "alice")  # running: only flagged
    assert store.progress(job_id, token, 2, 30) is True
    assert store.renew({job_id: token}, 30) == ({job_id}, set())
    expires = _now() + timedelta(hours=1)
    done = store.finish(job_id, token, Outcome(JobState.SUCCEEDED, video_key="k/v.mp4", expires_at=expires))
    assert done is not None and (done.state, done.step, done.video_key) == (JobState.SUCCEEDED, 2, "k/v.mp4")
    assert store.finish(job_id, token, Outcome(JobState.FAILED)) is None  # the claim ended with the run
    assert store.renew({job_id: token}, 30) == (set(), {job_id})


def test_release_puts_a_job_back_without_counting_the_attempt(store: JobStore) -> None:
    store.submit(new(), LIMITS)
    claimed = store.claim("r1", STAMP, _now(), 30)
    assert claimed is not None
    assert store.release(claimed.job.job_id, claimed.claim_token)
    again = store.get(claimed.job.job_id)
    assert (again.state, again.attempts, again.model, again.started_at) == (JobState.QUEUED, 0, None, None)
    assert not store.release(claimed.job.job_id, claimed.claim_token)


def _expire_leases(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE serving_jobs SET lease_expires_at = :t WHERE state = 'running'"),
                         {"t": (_now() - timedelta(seconds=5)).replace(tzinfo=None)
                          if url.startswith("sqlite") else _now() - timedelta(seconds=5)})
    finally:
        engine.dispose()


def test_lost_jobs_are_requeued_then_failed_retryable(store: JobStore, jobs_db_url: str) -> None:
    job, _ = store.submit(new(), LIMITS)
    assert store.claim("r1", STAMP, _now(), 30) is not None
    assert store.recover_lost(max_attempts=2).requeued == []  # lease still live
    _expire_leases(jobs_db_url)
    assert store.recover_lost(max_attempts=2).requeued == [job.job_id]
    assert store.get(job.job_id).state == JobState.QUEUED
    assert store.claim("r2", STAMP, _now(), 30) is not None
    report = store.recover_lost(max_attempts=2, replica_id="r2")  # r2 restarted: no need to wait for the lease
    assert report.failed == [job.job_id]
    lost = store.get(job.job_id)
    assert (lost.state, lost.error_code, lost.retryable, lost.attempts) == (JobState.FAILED, "worker_lost", True, 2)


def test_a_lost_job_with_a_cancel_request_ends_cancelled(store: JobStore) -> None:
    job, _ = store.submit(new(), LIMITS)
    assert store.claim("r1", STAMP, _now(), 30) is not None
    store.cancel(job.job_id, "alice")
    assert store.recover_lost(max_attempts=5, replica_id="r1").cancelled == [job.job_id]
    assert store.get(job.job_id).state == JobState.CANCELLED


_REPLICA = """
import json, sys, time
from datetime import UTC, datetime
from pathlib import Path
from services.serving.entities import JobState, ModelStamp
from services.serving.queue import Outcome
from services.serving.store import JobStore
url, name, go = sys.argv[1], sys.argv[2], Path(sys.argv[3])
store = JobStore(url)
while not go.exists():
    time.sleep(0.005)
ran, idle = [], 0
while idle < 20:
    claimed = store.claim(name, ModelStamp("m", 1, "ab" * 32), datetime.now(UTC), 30)
    if claimed is None:
        idle += 1
        time.sleep(0.01)
        continue
    idle = 0
    time.sleep(0.005)  # the "work"
    assert store.finish(claimed.job.job_id, claimed.claim_token, Outcome(JobState.SUCCEEDED)) is not None
    ran.append(claimed.job.job_id)
print(json.dumps(ran))
"""


def test_two_processes_split_the_work_and_never_run_a_job_twice(
    store: JobStore, jobs_db_url: str, tmp_path: Path
) -> None:
    ids = {store.submit(new(body=str(i)), LIMITS)[0].job_id for i in range(60)}
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", _REPLICA, jobs_db_url, f"replica-{i}", str(go)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    time.sleep(0.5)
    go.touch()
    runs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
        runs.append(json.loads(out.strip().splitlines()[-1]))
    a, b = (set(r) for r in runs)
    assert len(runs[0]) == len(a) and len(runs[1]) == len(b)
    assert a.isdisjoint(b) and a | b == ids
    assert a and b  # both replicas did some of the work
    jobs = [store.get(i) for i in ids]
    assert {j.state for j in jobs} == {JobState.SUCCEEDED} and {j.attempts for j in jobs} == {1}
