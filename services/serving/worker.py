"""Workers: claim jobs from the shared database, run them on the live model, record how they ended.

``workers`` threads per replica (one per GPU by default). Each idle worker
takes the model serving now (with the time, under the watcher's swap lock),
claims the oldest queued job for it (row-level, see :mod:`.queue`) and runs it:
``motion_score`` is mapped with that model's edges, the pipeline runs with a
step callback that records progress (throttled), and stops the run when it
was cancelled (locally at once, from another replica within a heartbeat),
exceeded ``job_deadline_s``, lost its lease, or the replica is stopping. The
frames are encoded to an mp4 carrying the job's facts (model name, version,
sha256) and, when requested, zipped as PNGs; both go to the object store.

A heartbeat thread renews the leases of this replica's running jobs and picks
up cancel requests. Stopping the pool gives running jobs back to the queue.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from services.serving.entities import ClaimedJob, Job, JobState
from services.serving.errors import InvalidParameterError
from services.serving.generate import GenerationParams, encode_mp4, frames_zip, generate_frames, mp4_metadata
from services.serving.images import decode_png
from services.serving.params import remap_motion
from services.serving.queue import Outcome
from services.serving.results import FRAMES, VIDEO
from vidforge.logging import get_logger

if TYPE_CHECKING:
    import numpy as np
    from structlog.typing import FilteringBoundLogger

    from services.serving.loader import LoadedModel
    from services.serving.metrics import ServingMetrics
    from services.serving.results import ResultStore
    from services.serving.store import JobStore
    from vidforge.settings import Settings

#: ``runner(pipeline, image, params, on_step)`` returns ``(T, H, W, 3)`` uint8 frames.
Runner = Callable[[Any, Any, GenerationParams, Callable[[int], None]], "np.ndarray"]


def _log() -> FilteringBoundLogger:
    return get_logger(__name__)


class ModelSource(Protocol):
    """Where workers get the live model (the watcher)."""

    def acquire(self) -> tuple[LoadedModel, datetime] | None:
        """The model serving now and the time it was taken; None before the first load."""
        ...


@dataclass(frozen=True)
class WorkerConfig:
    """How the pool runs jobs (see ``ServingSettings`` for each field's meaning)."""

    replica_id: str
    workers: int = 1
    lease_s: float = 30.0
    heartbeat_s: float = 5.0
    deadline_s: float = 900.0
    claim_poll_s: float = 0.5
    progress_interval_s: float = 0.5
    result_ttl_s: float = 86400.0

    @classmethod
    def from_settings(cls, settings: Settings, replica_id: str, workers: int) -> WorkerConfig:
        """The pool's settings; ``workers`` as resolved by :func:`services.serving.loader.worker_devices`."""
        s = settings.serving
        return cls(replica_id, workers, s.lease_s, s.heartbeat_s, s.job_deadline_s, s.claim_poll_s,
                   min(0.5, s.heartbeat_s), s.result_ttl_s)


class _Stop(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised from the step callback: ``kind`` is ``end`` (with an outcome), ``release`` or ``lost``."""

    def __init__(self, kind: str, outcome: Outcome | None = None) -> None:
        super().__init__(kind)
        self.kind, self.outcome = kind, outcome


@dataclass
class _Run:
    job: Job
    token: str
    started: float = field(default_factory=time.monotonic)
    step: int = 0
    cancel: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lost: threading.Event = field(default_factory=threading.Event)


class WorkerPool:
    """The replica's workers and heartbeat (see the module docstring).

    Args:
        store: the shared job store.
        results: where results are written.
        models: the live model (the watcher).
        metrics: job outcomes, durations, queue wait.
        config: see :class:`WorkerConfig`.
        runner: the generation function (default :func:`services.serving.generate.generate_frames`).
        on_end: called with a job's id when a run on this replica ended (wakes long-polls).
    """

    def __init__(self, store: JobStore, results: ResultStore, models: ModelSource, metrics: ServingMetrics,
                 config: WorkerConfig, runner: Runner = generate_frames,
                 on_end: Callable[[str], None] | None = None) -> None:
        self.store, self.results, self.models, self.metrics = store, results, models, metrics
        self.config = config
        self.runner = runner
        self.on_end = on_end
        self._running: dict[str, _Run] = {}
        self._lock = threading.Lock()
        self._cv = threading.Condition()
        self._wakes = 0
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._avg_run_s: float | None = None

    # -- client side ---------------------------------------------------------------------------

    @property
    def running(self) -> int:
        """Jobs running on this replica now."""
        with self._lock:
            return len(self._running)

    def notify(self) -> None:
        """Wake one idle worker (a job was just queued on this replica)."""
        with self._cv:
            self._wakes += 1
            self._cv.notify()

    def cancel_local(self, job_id: str) -> None:
        """Stop ``job_id`` at its next step if it runs here (the database flag reaches other replicas)."""
        with self._lock:
            run = self._running.get(job_id)
        if run is not None:
            run.cancel.set()

    def retry_after_s(self, depth: int) -> float:
        """Seconds until a queue slot is likely free: mean run time x queued jobs per worker (1..600)."""
        mean = self._avg_run_s or 5.0
        return min(600.0, max(1.0, mean * (depth + 1) / max(1, self.config.workers)))

    # -- running jobs --------------------------------------------------------------------------

    def run_next(self, slot: int = 0) -> Job | None:
        """Claim and run one job in the calling thread; its final state (None: nothing claimed or released)."""
        picked = self.models.acquire()
        if picked is None:
            return None
        model, at = picked
        claimed = self.store.claim(self.config.replica_id, model.stamp, at, self.config.lease_s)
        if claimed is None:
            return None
        return self._run_claimed(claimed, model, slot)

    def _run_claimed(self, claimed: ClaimedJob, model: LoadedModel, slot: int) -> Job | None:
        job = claimed.job
        run = _Run(job, claimed.claim_token)
        with self._lock:
            self._running[job.job_id] = run
        self.metrics.queue_wait_seconds.observe(job.queued_s or 0.0)
        started = time.perf_counter()
        try:
            outcome = self._generate(claimed, model, run, slot)
        except _Stop as stop:
            if stop.kind == "release" and self.store.release(job.job_id, run.token):
                self.metrics.jobs_requeued.inc()
                _log().info("job released to the queue", job_id=job.job_id)
            else:
                _log().warning("job claim lost; another replica owns it now", job_id=job.job_id)
            return None
        finally:
            with self._lock:
                self._running.pop(job.job_id, None)
        elapsed = time.perf_counter() - started
        label = "deadline_exceeded" if outcome.error_code == "deadline_exceeded" else outcome.state.value
        self.metrics.generation_seconds.labels(label).observe(elapsed)
        self.metrics.jobs.labels(label).inc()
        if outcome.state == JobState.SUCCEEDED:
            self._avg_run_s = elapsed if self._avg_run_s is None else 0.7 * self._avg_run_s + 0.3 * elapsed
        done = self.store.finish(job.job_id, run.token, outcome)
        if self.on_end is not None:
            self.on_end(job.job_id)
        _log().info("job finished", job_id=job.job_id, state=outcome.state.value, code=outcome.error_code,
                    model_version=model.info.version, run_s=round(elapsed, 3))
        return done

    def _check(self, run: _Run) -> None:
        if run.lost.is_set():
            raise _Stop("lost")
        if run.release.is_set():
            raise _Stop("release")
        if run.cancel.is_set():
            raise _Stop("end", Outcome(JobState.CANCELLED, "cancelled", f"cancelled at step {run.step}"))
        if time.monotonic() - run.started > self.config.deadline_s:
            raise _Stop("end", Outcome(
                JobState.FAILED, "deadline_exceeded",
                f"stopped at step {run.step}: the job ran past its deadline of {self.config.deadline_s:g} s",
            ))

    def _generate(self, claimed: ClaimedJob, model: LoadedModel, run: _Run, slot: int) -> Outcome:
        job, cfg = claimed.job, self.config
        try:
            params = remap_motion(GenerationParams.from_dict(job.params), model.defaults)
        except InvalidParameterError as e:
            return Outcome(JobState.FAILED, "invalid_parameter", e.message)
        if params.to_dict() != job.params:
            self.store.progress(job.job_id, run.token, 0, cfg.lease_s, params=params.to_dict())
        last = [time.monotonic()]

        def on_step(step: int) -> None:
            run.step = step
            self._check(run)
            now = time.monotonic()
            if now - last[0] >= cfg.progress_interval_s or step >= job.total_steps:
                last[0] = now
                flagged = self.store.progress(job.job_id, run.token, step, cfg.lease_s)
                if flagged is None:
                    run.lost.set()
                elif flagged:
                    run.cancel.set()
                self._check(run)

        try:
            frames = self.runner(model.pipeline_for(slot), decode_png(claimed.image_png), params, on_step)
            self._check(run)
            return self._publish(job, model, params, frames)
        except _Stop as stop:
            if stop.outcome is None:
                raise
            return stop.outcome
        except Exception as e:  # the job fails, the worker lives on
            _log().exception("job failed", job_id=job.job_id)
            return Outcome(JobState.FAILED, "generation_failed", f"{type(e).__name__}: {e}",
                           retryable=not isinstance(e, ValueError))

    def _publish(self, job: Job, model: LoadedModel, params: GenerationParams, frames: np.ndarray) -> Outcome:
        stamp = model.stamp
        facts = {"job_id": job.job_id, "model_name": stamp.name, "model_version": stamp.version,
                 "model_sha256": stamp.sha256, "params": params.to_dict()}
        attempt = job.attempts
        with tempfile.TemporaryDirectory(prefix="vidforge-job-") as tmp:
            mp4 = encode_mp4(frames, params.fps, Path(tmp) / VIDEO, mp4_metadata(facts))
            video_key = self.results.put_file(mp4, self.results.key(job.job_id, attempt, VIDEO))
        frames_key = ""
        if job.return_frames:
            key = self.results.key(job.job_id, attempt, FRAMES)
            frames_key = self.results.put_bytes(frames_zip(frames, facts), key)
        expires = datetime.now(UTC) + timedelta(seconds=self.config.result_ttl_s)
        return Outcome(JobState.SUCCEEDED, video_key=video_key, frames_key=frames_key, expires_at=expires)

    # -- threads -------------------------------------------------------------------------------

    def start(self) -> None:
        """Start ``workers`` worker threads and the heartbeat thread."""
        if self._threads:
            return
        self._stopping.clear()
        for slot in range(self.config.workers):
            self._threads.append(threading.Thread(target=self._loop, args=(slot,), daemon=True,
                                                  name=f"vidforge-worker-{slot}"))
        self._threads.append(threading.Thread(target=self._heartbeat, daemon=True, name="vidforge-heartbeat"))
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop claiming; running jobs stop at their next step and go back to the queue."""
        self._stopping.set()
        with self._lock:
            for run in self._running.values():
                run.release.set()
        with self._cv:
            self._cv.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = []

    def _loop(self, slot: int) -> None:
        while not self._stopping.is_set():
            try:
                ran = self.run_next(slot) is not None
            except Exception:  # the database blinked: wait a poll and try again
                _log().exception("worker iteration failed", slot=slot)
                ran = False
            if ran:
                continue
            with self._cv:
                self._cv.wait_for(lambda: self._wakes > 0 or self._stopping.is_set(), self.config.claim_poll_s)
                self._wakes = max(0, self._wakes - 1)

    def _heartbeat(self) -> None:
        while not self._stopping.wait(self.config.heartbeat_s):
            with self._lock:
                runs = dict(self._running)
            try:
                cancel, lost = self.store.renew({i: r.token for i, r in runs.items()}, self.config.lease_s)
            except Exception:
                _log().exception("lease renewal failed")
                continue
            for job_id in cancel:
                runs[job_id].cancel.set()
            for job_id in lost:
                runs[job_id].lost.set()
