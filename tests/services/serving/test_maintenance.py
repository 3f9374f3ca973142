"""The cleanup task: expired results deleted (and marked), orphans swept, lost jobs recovered."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.serving.entities import JobState, ModelStamp
from services.serving.maintenance import Maintenance
from services.serving.metrics import ServingMetrics
from services.serving.queue import Outcome
from services.serving.results import VIDEO, ResultStore
from services.serving.store import JobStore, SubmitLimits
from tests.services.serving.test_store import new
from vidforge.store import LocalStore

LIMITS = SubmitLimits(50, 50)
STAMP = ModelStamp("m", 1, "ab" * 32)


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[tuple[JobStore, ResultStore, Maintenance]]:
    store = JobStore.open(f"sqlite:///{tmp_path / 'jobs.db'}")
    results = ResultStore(LocalStore(tmp_path / "store"), "serving/jobs")
    yield store, results, Maintenance(store, results, ServingMetrics(), interval_s=60, max_attempts=2)
    store.dispose()


def _succeed(store: JobStore, results: ResultStore, expires_in_s: float) -> str:
    job, _ = store.submit(new(), LIMITS)
    claimed = store.claim("r1", STAMP, datetime.now(UTC), 30)
    assert claimed is not None and claimed.job.job_id == job.job_id
    key = results.put_bytes(b"mp4", results.key(job.job_id, 1, VIDEO))
    expires = datetime.now(UTC) + timedelta(seconds=expires_in_s)
    assert store.finish(job.job_id, claimed.claim_token, Outcome(JobState.SUCCEEDED, video_key=key,
                                                                 expires_at=expires))
    return job.job_id


def test_expired_results_are_deleted_and_marked(parts: tuple[JobStore, ResultStore, Maintenance]) -> None:
    store, results, maintenance = parts
    old, fresh = _succeed(store, results, -1), _succeed(store, results, 3600)
    report = maintenance.run_once()
    assert report.expired == [old] and report.orphans == []
    assert store.get(old).results_deleted and not store.get(fresh).results_deleted
    assert results.job_ids() == [fresh]
    assert maintenance.run_once().expired == []  # done once
    assert maintenance.metrics.registry.get_sample_value("vidforge_serving_results_deleted_total") == 1


def test_orphans_are_swept_and_live_results_kept(parts: tuple[JobStore, ResultStore, Maintenance]) -> None:
    store, results, maintenance = parts
    kept = _succeed(store, results, 3600)
    running, _ = store.submit(new(), LIMITS)
    claimed = store.claim("r1", STAMP, datetime.now(UTC), 30)
    assert claimed is not None
    results.put_bytes(b"half-written", results.key(running.job_id, 1, VIDEO))  # being uploaded right now
    cancelled, _ = store.submit(new(), LIMITS)
    store.cancel(cancelled.job_id, "alice")
    results.put_bytes(b"left over", results.key(cancelled.job_id, 1, VIDEO))
    results.put_bytes(b"no such job", results.key("job-" + "0" * 32, 1, VIDEO))
    report = maintenance.run_once()
    assert sorted(report.orphans) == sorted([cancelled.job_id, "job-" + "0" * 32])
    assert sorted(results.job_ids()) == sorted([kept, running.job_id])


def test_lost_jobs_are_recovered(parts: tuple[JobStore, ResultStore, Maintenance]) -> None:
    store, _, maintenance = parts
    job, _ = store.submit(new(), LIMITS)
    assert store.claim("r1", STAMP, datetime.now(UTC), 30) is not None
    engine = sa.create_engine(store.db_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE serving_jobs SET lease_expires_at = '2000-01-01 00:00:00'")
    finally:
        engine.dispose()
    assert maintenance.run_once().requeued == [job.job_id]
    assert store.get(job.job_id).state == JobState.QUEUED
    assert maintenance.metrics.registry.get_sample_value("vidforge_serving_jobs_requeued_total") == 1


def test_the_thread_runs_passes_until_stopped(
    parts: tuple[JobStore, ResultStore, Maintenance], wait_for: Callable[..., None]
) -> None:
    store, results, _ = parts
    old = _succeed(store, results, -1)
    maintenance = Maintenance(store, results, ServingMetrics(), interval_s=0.05, max_attempts=2)
    maintenance.start()
    try:
        wait_for(lambda: store.get(old).results_deleted, what="a periodic pass")
    finally:
        maintenance.stop()
