"""JobQueue with the real tiny pipeline: lifecycle, cancel, bounds, failures, eviction."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from services.serving.jobs import JobQueue, JobState, run_generation

from services.serving.errors import JobFinishedError, JobNotFinishedError, JobNotFoundError, QueueFullError
from services.serving.generate import GenerationParams
from services.serving.metrics import ServingMetrics

if TYPE_CHECKING:
    from services.serving.watcher import LoadedModel


def _params(**kw: Any) -> GenerationParams:
    base: dict[str, Any] = dict(
        height=64, width=64, num_frames=4, num_inference_steps=2, fps=6, motion_bucket_id=127,
        noise_aug_strength=0.02, min_guidance_scale=1.0, max_guidance_scale=3.0, seed=7,
    )
    return GenerationParams(**{**base, **kw})


def _image(png: Callable[..., bytes]) -> Any:
    import io

    from PIL import Image

    return Image.open(io.BytesIO(png())).convert("RGB")


def _count(metrics: ServingMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels or None) or 0.0


class _Gate:
    """A job runner whose every step waits for ``release``; ``reached`` is set when a step is waiting."""

    def __init__(self) -> None:
        self.reached, self.release = threading.Event(), threading.Event()

    def runner(self, model: Any, image: Any, params: Any, on_step: Callable[[int], None], dest: Path) -> None:
        def gate(step: int) -> None:
            self.reached.set()
            assert self.release.wait(10)
            on_step(step)

        run_generation(model, image, params, gate, dest)


def test_job_runs_to_success_and_writes_mp4(
    tmp_path: Path, tiny_model: LoadedModel, png: Callable[..., bytes],
    decode_mp4: Callable[[bytes], np.ndarray],
) -> None:
    metrics = ServingMetrics()
    queue = JobQueue(tmp_path / "jobs", metrics)
    submitted = queue.submit(tiny_model, _image(png), _params(num_frames=3, width=48))
    assert submitted.state == JobState.QUEUED and submitted.model_version == 1
    with pytest.raises(JobNotFinishedError, match="queued"):
        queue.video_path(submitted.job_id)

    done = queue.run_next()

    assert done is not None and done.state == JobState.SUCCEEDED, done
    assert done.step == done.total_steps == 2
    assert done.queued_s is not None and done.run_s is not None and done.run_s > 0
    path = queue.video_path(done.job_id)
    assert path == tmp_path / "jobs" / f"{done.job_id}.mp4"
    assert decode_mp4(path.read_bytes()).shape == (3, 64, 48, 3)
    assert _count(metrics, "vidforge_serving_jobs_total", state="succeeded") == 1
    assert _count(metrics, "vidforge_serving_generation_seconds_count") == 1
    assert queue.run_next() is None  # nothing left


def test_cancel_queued_job_removes_it(tmp_path: Path, tiny_model: LoadedModel, png: Callable[..., bytes]) -> None:
    metrics = ServingMetrics()
    queue = JobQueue(tmp_path, metrics)
    first = queue.submit(tiny_model, _image(png), _params())
    second = queue.submit(tiny_model, _image(png), _params())

    cancelled = queue.cancel(first.job_id)

    assert cancelled.state == JobState.CANCELLED and cancelled.finished_at is not None
    assert queue.depth == 1
    assert queue.run_next().job_id == second.job_id  # type: ignore[union-attr]
    with pytest.raises(JobFinishedError, match="already cancelled"):
        queue.cancel(first.job_id)
    with pytest.raises(JobNotFinishedError, match="cancelled"):
        queue.video_path(first.job_id)
    assert _count(metrics, "vidforge_serving_jobs_total", state="cancelled") == 1


def test_cancel_running_job_stops_at_next_step(
    tmp_path: Path, tiny_model: LoadedModel, png: Callable[..., bytes]
) -> None:
    gate = _Gate()
    queue = JobQueue(tmp_path, ServingMetrics(), runner=gate.runner)
    job = queue.submit(tiny_model, _image(png), _params(num_inference_steps=20))
    queue.start()
    try:
        assert gate.reached.wait(20)
        assert queue.get(job.job_id).state == JobState.RUNNING
        assert queue.cancel(job.job_id).cancel_requested
        gate.release.set()
        for _ in range(200):
            status = queue.get(job.job_id)
            if status.state != JobState.RUNNING:
                break
            threading.Event().wait(0.05)
    finally:
        gate.release.set()
        queue.stop()
    assert status.state == JobState.CANCELLED and status.error == "cancelled at step 1"
    assert status.output is None and not (tmp_path / f"{job.job_id}.mp4").exists()


def test_stop_cancels_the_running_job(
    tmp_path: Path, tiny_model: LoadedModel, png: Callable[..., bytes], wait_for: Callable[..., None]
) -> None:
    gate = _Gate()
    queue = JobQueue(tmp_path, ServingMetrics(), runner=gate.runner)
    running = queue.submit(tiny_model, _image(png), _params(num_inference_steps=20))
    waiting = queue.submit(tiny_model, _image(png), _params())
    queue.start()
    assert gate.reached.wait(20)
    stopper = threading.Thread(target=queue.stop)
    stopper.start()
    wait_for(lambda: queue.get(running.job_id).cancel_requested, what="cancel request from stop()")
    gate.release.set()
    stopper.join(20)

    assert not stopper.is_alive()
    assert queue.get(running.job_id).state == JobState.CANCELLED
    assert queue.get(waiting.job_id).state == JobState.QUEUED


def test_full_queue_rejects_submit(tmp_path: Path, tiny_model: LoadedModel, png: Callable[..., bytes]) -> None:
    queue = JobQueue(tmp_path, ServingMetrics(), max_queued=2)
    image = _image(png)
    first = queue.submit(tiny_model, image, _params())
    queue.submit(tiny_model, image, _params())
    with pytest.raises(QueueFullError, match="2 waiting") as exc:
        queue.submit(tiny_model, image, _params())
    assert exc.value.http_status == 429
    queue.cancel(first.job_id)
    queue.submit(tiny_model, image, _params())  # a slot freed up


def test_pipeline_error_fails_the_job_not_the_worker(
    tmp_path: Path, tiny_model: LoadedModel, png: Callable[..., bytes]
) -> None:
    metrics = ServingMetrics()
    queue = JobQueue(tmp_path, metrics)
    bad = queue.submit(tiny_model, _image(png), _params(height=60))  # pipeline requires /8
    good = queue.submit(tiny_model, _image(png), _params())

    assert queue.run_next().state == JobState.FAILED  # type: ignore[union-attr]
    assert queue.run_next().state == JobState.SUCCEEDED  # type: ignore[union-attr]
    assert "ValueError" in queue.get(bad.job_id).error and "60" in queue.get(bad.job_id).error
    assert queue.get(good.job_id).output is not None
    assert _count(metrics, "vidforge_serving_jobs_total", state="failed") == 1


def test_oldest_finished_jobs_are_evicted_with_their_video(
    tmp_path: Path, tiny_model: LoadedModel, png: Callable[..., bytes]
) -> None:
    queue = JobQueue(tmp_path, ServingMetrics(), max_retained=1)
    first = queue.submit(tiny_model, _image(png), _params(num_frames=2, height=32, width=32))
    queue.run_next()
    first_video = queue.video_path(first.job_id)
    second = queue.submit(tiny_model, _image(png), _params(num_frames=2, height=32, width=32))
    queue.run_next()

    with pytest.raises(JobNotFoundError):
        queue.get(first.job_id)
    assert not first_video.exists()
    assert queue.video_path(second.job_id).exists()
