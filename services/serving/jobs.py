"""In-process job queue: a bounded FIFO and one worker thread running generations.

States: ``queued`` → ``running`` → ``succeeded`` | ``failed`` | ``cancelled``.
A job binds the model that was serving when it was submitted, so a hot swap
never changes the weights of a job already accepted (its ``model_version``
stays what ``POST /v1/jobs`` answered). Cancelling a queued job removes it at
once; a running job stops after its current denoising step. Finished jobs are
kept (with their mp4 under ``output_dir``) up to ``max_retained``; the oldest
are evicted first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from services.serving.errors import JobFinishedError, JobNotFinishedError, JobNotFoundError, QueueFullError
from services.serving.generate import GenerationCancelledError, GenerationParams, encode_mp4, generate_frames
from vidforge.ids import new_id
from vidforge.logging import get_logger

if TYPE_CHECKING:
    from structlog.typing import FilteringBoundLogger

    from services.serving.metrics import ServingMetrics
    from services.serving.watcher import LoadedModel



def _log() -> FilteringBoundLogger:
    """This module's logger, built at call time so it follows ``configure_logging``."""
    return get_logger(__name__)


class JobState(StrEnum):
    """Lifecycle state of a job."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})

#: ``runner(model, image, params, on_step, dest)`` writes the job's mp4 to ``dest``.
Runner = Callable[["LoadedModel", Any, GenerationParams, Callable[[int], None], Path], None]


def run_generation(
    model: LoadedModel, image: Any, params: GenerationParams, on_step: Callable[[int], None], dest: Path
) -> None:
    """The default runner: generate with ``model.pipeline`` and encode to ``dest``."""
    frames = generate_frames(model.pipeline, image, params, on_step)
    encode_mp4(frames, params.fps, dest)


@dataclass(frozen=True)
class JobStatus:
    """A consistent snapshot of one job (times in UTC; durations in seconds)."""

    job_id: str
    state: JobState
    model_name: str
    model_version: int
    params: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    step: int
    total_steps: int
    cancel_requested: bool
    error: str
    output: Path | None

    @property
    def queued_s(self) -> float | None:
        """Seconds between submit and start (None while queued)."""
        return (self.started_at - self.created_at).total_seconds() if self.started_at else None

    @property
    def run_s(self) -> float | None:
        """Seconds between start and finish (None until finished after running)."""
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


@dataclass
class _Job:
    """Mutable job record; every access holds the queue's lock."""

    id: str
    params: GenerationParams
    model: LoadedModel | None
    image: Any
    model_name: str
    model_version: int
    state: JobState = JobState.QUEUED
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    started_at: datetime | None = None
    finished_at: datetime | None = None
    step: int = 0
    cancel_requested: bool = False
    error: str = ""
    output: Path | None = None

    def snapshot(self) -> JobStatus:
        return JobStatus(
            job_id=self.id, state=self.state, model_name=self.model_name,
            model_version=self.model_version, params=self.params.to_dict(),
            created_at=self.created_at, started_at=self.started_at, finished_at=self.finished_at,
            step=self.step, total_steps=self.params.num_inference_steps,
            cancel_requested=self.cancel_requested, error=self.error, output=self.output,
        )


class JobQueue:
    """Bounded FIFO of generation jobs with one worker thread.

    Args:
        output_dir: where ``<job_id>.mp4`` files are written.
        metrics: counters for submitted/finished jobs, queue depth and latency.
        max_queued: jobs waiting (not running) before :meth:`submit` raises ``QueueFullError``.
        max_retained: finished jobs kept before the oldest are evicted (mp4 deleted).
        runner: does the work of one job (default :func:`run_generation`).
    """

    def __init__(
        self,
        output_dir: str | Path,
        metrics: ServingMetrics,
        *,
        max_queued: int = 16,
        max_retained: int = 256,
        runner: Runner = run_generation,
    ) -> None:
        self.output_dir = Path(output_dir)
        self.metrics = metrics
        self.max_queued = max_queued
        self.max_retained = max_retained
        self._runner = runner
        self._jobs: OrderedDict[str, _Job] = OrderedDict()
        self._pending: deque[_Job] = deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    # -- client side -----------------------------------------------------------------------------

    def submit(self, model: LoadedModel, image: Any, params: GenerationParams) -> JobStatus:
        """Queue a job on ``model``; return its snapshot.

        Raises:
            QueueFullError: ``max_queued`` jobs are already waiting.
        """
        with self._cond:
            if len(self._pending) >= self.max_queued:
                raise QueueFullError(f"the job queue is full ({self.max_queued} waiting); retry later")
            job_id = new_id("job")
            while job_id in self._jobs:
                job_id = new_id("job")
            job = _Job(id=job_id, params=params, model=model, image=image,
                       model_name=model.info.name, model_version=model.info.version)
            self._jobs[job_id] = job
            self._pending.append(job)
            self.metrics.jobs_submitted.inc()
            self.metrics.queue_depth.set(len(self._pending))
            self._cond.notify()
            return job.snapshot()

    def get(self, job_id: str) -> JobStatus:
        """Snapshot of ``job_id``. Raises: JobNotFoundError."""
        with self._cond:
            return self._job(job_id).snapshot()

    def video_path(self, job_id: str) -> Path:
        """The finished mp4 of ``job_id``.

        Raises:
            JobNotFoundError: unknown id.
            JobNotFinishedError: the job has not succeeded (queued, running, failed, cancelled).
        """
        with self._cond:
            job = self._job(job_id)
            if job.state != JobState.SUCCEEDED or job.output is None:
                raise JobNotFinishedError(f"job {job_id} is {job.state}; its video is not available")
            return job.output

    def cancel(self, job_id: str) -> JobStatus:
        """Cancel ``job_id``: a queued job ends now, a running one after its current step.

        Raises:
            JobNotFoundError: unknown id.
            JobFinishedError: the job already reached a final state.
        """
        with self._cond:
            job = self._job(job_id)
            if job.state in FINAL_STATES:
                raise JobFinishedError(f"job {job_id} already {job.state}")
            job.cancel_requested = True
            if job.state == JobState.QUEUED:
                self._pending.remove(job)
                self.metrics.queue_depth.set(len(self._pending))
                self._finish(job, JobState.CANCELLED, "cancelled before it started")
            return job.snapshot()

    @property
    def depth(self) -> int:
        """Jobs waiting to run."""
        with self._cond:
            return len(self._pending)

    def _job(self, job_id: str) -> _Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise JobNotFoundError(f"no job {job_id!r}")
        return job

    # -- worker side -----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker thread."""
        with self._cond:
            if self._thread is not None:
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._loop, name="vidforge-job-worker", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the worker: a running job is cancelled at its next step; queued jobs stay queued."""
        with self._cond:
            self._stopping = True
            for job in self._jobs.values():
                if job.state == JobState.RUNNING:
                    job.cancel_requested = True
            self._cond.notify_all()
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)

    def _loop(self) -> None:
        while self.run_next(timeout=None):
            pass

    def run_next(self, timeout: float | None = 0.0) -> JobStatus | None:
        """Run the next queued job in the calling thread; return its final snapshot.

        Waits up to ``timeout`` seconds for a job (None: until one arrives or
        :meth:`stop`). Returns None when there was nothing to run or the queue is stopping.
        """
        with self._cond:
            if not self._cond.wait_for(lambda: self._pending or self._stopping, timeout):
                return None
            if self._stopping or not self._pending:
                return None
            job = self._pending.popleft()
            self.metrics.queue_depth.set(len(self._pending))
            job.state, job.started_at = JobState.RUNNING, datetime.now(UTC)
        return self._execute(job)

    def _execute(self, job: _Job) -> JobStatus:
        def on_step(step: int) -> None:
            with self._cond:
                job.step = step
                if job.cancel_requested:
                    raise GenerationCancelledError(job.id)

        dest = self.output_dir / f"{job.id}.mp4"
        started = time.perf_counter()
        assert job.model is not None
        try:
            self._runner(job.model, job.image, job.params, on_step, dest)
        except GenerationCancelledError:
            state, error = JobState.CANCELLED, f"cancelled at step {job.step}"
            dest.unlink(missing_ok=True)
        except Exception as e:  # the job fails, the worker lives on
            _log().exception("job failed", job_id=job.id)
            state, error = JobState.FAILED, f"{type(e).__name__}: {e}"
            dest.unlink(missing_ok=True)
        else:
            state, error = JobState.SUCCEEDED, ""
            self.metrics.generation_seconds.observe(time.perf_counter() - started)
        with self._cond:
            if state == JobState.SUCCEEDED:
                job.output = dest
            self._finish(job, state, error)
            return job.snapshot()

    def _finish(self, job: _Job, state: JobState, error: str) -> None:
        """Record a final state (lock held); drop the image/model refs; evict old jobs."""
        job.state, job.error, job.finished_at = state, error, datetime.now(UTC)
        job.image = job.model = None
        self.metrics.jobs_finished.labels(state.value).inc()
        _log().info("job finished", job_id=job.id, state=state.value, model_version=job.model_version)
        finished = [j for j in self._jobs.values() if j.state in FINAL_STATES]
        for old in finished[: max(0, len(finished) - self.max_retained)]:
            del self._jobs[old.id]
            if old.output is not None:
                old.output.unlink(missing_ok=True)
