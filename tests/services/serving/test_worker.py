"""WorkerPool: runs claimed jobs on the live model, records the model, stops on cancel/deadline/shutdown."""

from __future__ import annotations

import io
import json
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from services.serving.entities import Job, JobState
from services.serving.generate import GenerationParams
from services.serving.metrics import ServingMetrics
from services.serving.params import JobRequest, Limits, ModelDefaults, resolve_params
from services.serving.results import ResultStore
from services.serving.store import JobStore, NewJob, SubmitLimits
from services.serving.worker import WorkerConfig, WorkerPool
from tests.services.serving.conftest import EDGES_V1, EDGES_V2
from vidforge.store import LocalStore

LIMITS = SubmitLimits(50, 50)


class Live:
    """A ModelSource serving one fixed model."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def acquire(self) -> tuple[Any, datetime]:
        return self.model, datetime.now(UTC)


class Gate:
    """A runner that waits at each step until released (``reached`` is set when a step waits)."""

    def __init__(self) -> None:
        self.reached, self.release = threading.Event(), threading.Event()

    def __call__(self, pipe: Any, image: Any, params: GenerationParams, on_step: Callable[[int], None]) -> np.ndarray:
        for step in range(1, params.num_inference_steps + 1):
            self.reached.set()
            assert self.release.wait(10)
            on_step(step)
        return np.zeros((params.num_frames, params.height, params.width, 3), np.uint8)


def fast(pipe: Any, image: Any, params: GenerationParams, on_step: Callable[[int], None]) -> np.ndarray:
    for step in range(1, params.num_inference_steps + 1):
        on_step(step)
    return np.full((params.num_frames, params.height, params.width, 3), 100, np.uint8)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    opened = JobStore.open(f"sqlite:///{tmp_path / 'jobs.db'}")
    yield opened
    opened.dispose()


_DEFAULTS = ModelDefaults(height=64, width=64, num_frames=4, fps=6, num_inference_steps=2,
                          motion_bucket_edges=EDGES_V1)


def _submit(store: JobStore, png: Callable[..., bytes], frames: bool = False, **req: Any) -> Job:
    params = resolve_params(JobRequest(**{"height": 32, "width": 32, "num_frames": 3, "num_inference_steps": 2,
                                          "seed": 4, **req}), _DEFAULTS, Limits(8, 50, 256))
    new = NewJob("alice", params.to_dict(), params.num_inference_steps, png(size=(32, 32)), "h", return_frames=frames)
    return store.submit(new, LIMITS)[0]


def _pool(store: JobStore, tmp_path: Path, model: Any, runner: Any = fast, **cfg: Any) -> WorkerPool:
    config = WorkerConfig(**{"replica_id": "r1", "heartbeat_s": 0.05, "claim_poll_s": 0.05,
                             "progress_interval_s": 0.0, **cfg})
    return WorkerPool(store, ResultStore(LocalStore(tmp_path / "store"), "serving/jobs"), Live(model),
                      ServingMetrics(), config, runner)


def test_a_real_generation_records_the_model_in_the_status_and_the_mp4(
    store: JobStore, tmp_path: Path, tiny_model: Any, png: Callable[..., bytes],
    decode_mp4: Callable[[bytes], np.ndarray],
) -> None:
    import av

    from services.serving.generate import generate_frames

    job = _submit(store, png, frames=True)
    pool = _pool(store, tmp_path, tiny_model, runner=generate_frames)
    done = pool.run_next()
    assert done is not None and done.state == JobState.SUCCEEDED, done
    assert done.model == tiny_model.stamp and (done.step, done.total_steps) == (2, 2)
    assert done.expires_at is not None and done.video_key.endswith(f"{job.job_id}/a1/video.mp4")
    video = pool.results.open(done.video_key).path
    assert video is not None and decode_mp4(video.read_bytes()).shape == (3, 32, 32, 3)
    with av.open(str(video)) as c:
        meta = c.metadata
    assert (meta["vidforge_job_id"], meta["vidforge_model_version"], meta["vidforge_model_sha256"]) == (
        job.job_id, "1", tiny_model.info.sha256)
    frames = pool.results.open(done.frames_key).path
    assert frames is not None
    with zipfile.ZipFile(io.BytesIO(frames.read_bytes())) as zf:
        assert len([n for n in zf.namelist() if n.endswith(".png")]) == 3
        assert json.loads(zf.read("job.json"))["model_sha256"] == tiny_model.info.sha256
    assert pool.metrics.registry.get_sample_value("vidforge_serving_jobs_total", {"outcome": "succeeded"}) == 1
    assert pool.run_next() is None  # nothing left


def test_cancel_stops_a_running_job_at_its_next_step(
    store: JobStore, tmp_path: Path, tiny_model: Any, png: Callable[..., bytes], wait_for: Callable[..., None]
) -> None:
    gate = Gate()
    job = _submit(store, png, num_inference_steps=20)
    pool = _pool(store, tmp_path, tiny_model, runner=gate)
    pool.start()
    try:
        assert gate.reached.wait(10)
        store.cancel(job.job_id, "alice")  # the database flag only: as if another replica took the request
        gate.release.set()
        wait_for(lambda: store.get(job.job_id).state != JobState.RUNNING, what="cancel via the heartbeat")
    finally:
        gate.release.set()
        pool.stop()
    done = store.get(job.job_id)
    assert done.state == JobState.CANCELLED and done.error.startswith("cancelled at step")
    assert done.video_key == "" and not list((tmp_path / "store").rglob("*.mp4"))


def test_deadline_fails_the_job_and_frees_the_worker(
    store: JobStore, tmp_path: Path, tiny_model: Any, png: Callable[..., bytes]
) -> None:
    def slow(pipe: Any, image: Any, params: GenerationParams, on_step: Callable[[int], None]) -> np.ndarray:
        for step in range(1, 1000):
            threading.Event().wait(0.02)
            on_step(step)
        raise AssertionError("the deadline should have stopped this")

    late = _submit(store, png)
    after = _submit(store, png)
    pool = _pool(store, tmp_path, tiny_model, runner=slow, deadline_s=0.2)
    done = pool.run_next()
    assert done is not None and done.job_id == late.job_id
    assert (done.state, done.error_code, done.retryable) == (JobState.FAILED, "deadline_exceeded", False)
    assert "past its deadline of 0.2 s" in done.error
    pool.runner = fast
    assert pool.run_next().job_id == after.job_id  # type: ignore[union-attr]
    assert pool.metrics.registry.get_sample_value(
        "vidforge_serving_generation_duration_seconds_count", {"outcome": "deadline_exceeded"}) == 1


def test_a_failing_generation_fails_the_job_not_the_worker(
    store: JobStore, tmp_path: Path, tiny_model: Any, png: Callable[..., bytes]
) -> None:
    def broken(*args: Any) -> np.ndarray:
        raise RuntimeError("CUDA error: device-side assert")

    _submit(store, png)
    pool = _pool(store, tmp_path, tiny_model, runner=broken)
    done = pool.run_next()
    assert done is not None and (done.state, done.error_code, done.retryable) == (
        JobState.FAILED, "generation_failed", True)
    assert "device-side assert" in done.error


def test_stop_gives_running_jobs_back_to_the_queue(
    store: JobStore, tmp_path: Path, tiny_model: Any, png: Callable[..., bytes]
) -> None:
    gate = Gate()
    job = _submit(store, png, num_inference_steps=20)
    pool = _pool(store, tmp_path, tiny_model, runner=gate)
    pool.start()
    assert gate.reached.wait(10)
    stopper = threading.Thread(target=pool.stop)
    stopper.start()
    gate.release.set()
    stopper.join(20)
    back = store.get(job.job_id)
    assert (back.state, back.attempts, back.model) == (JobState.QUEUED, 0, None)


def test_motion_score_is_mapped_with_the_edges_of_the_model_that_runs_the_job(
    store: JobStore, tmp_path: Path, tiny_model: Any, png: Callable[..., bytes]
) -> None:
    from vidforge.dataset import motion_bucket

    job = _submit(store, png, motion_score=3.0)  # resolved at submit with v1-like edges
    v2 = replace(tiny_model, defaults=replace(tiny_model.defaults, motion_bucket_edges=EDGES_V2))
    done = _pool(store, tmp_path, v2).run_next()
    assert done is not None and done.state == JobState.SUCCEEDED
    assert job.params["motion_bucket_id"] != done.params["motion_bucket_id"] == motion_bucket(3.0, list(EDGES_V2))
    assert done.params["motion_score"] == 3.0


def test_a_run_that_lost_its_claim_records_nothing(
    store: JobStore, tmp_path: Path, tiny_model: Any, png: Callable[..., bytes]
) -> None:
    job = _submit(store, png)

    def lose(pipe: Any, image: Any, params: GenerationParams, on_step: Callable[[int], None]) -> np.ndarray:
        store.recover_lost(max_attempts=5, replica_id="r1")  # as if the lease had expired
        on_step(1)
        raise AssertionError("a lost claim should stop the run")

    assert _pool(store, tmp_path, tiny_model, runner=lose).run_next() is None
    again = store.get(job.job_id)
    assert (again.state, again.attempts) == (JobState.QUEUED, 1)
