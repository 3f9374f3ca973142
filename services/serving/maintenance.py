"""The periodic cleanup task: recover lost jobs, delete expired results, sweep orphaned ones.

Every ``cleanup_interval_s`` each replica (the work is idempotent, and rows
are locked or updated conditionally) does three things:

1. running jobs whose lease expired (their replica died) go back to the queue,
   or end ``failed`` with ``retryable`` after ``max_attempts`` runs;
2. succeeded jobs past ``expires_at`` lose their results (downloads answer 410);
3. result prefixes that no job needs any more (no such job, a failed or
   cancelled one, a crash between upload and record) are deleted.

At start-up a replica with a stable ``replica_id`` first recovers the jobs it
was running before it restarted, without waiting for their leases to expire.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vidforge.logging import get_logger

if TYPE_CHECKING:
    from services.serving.metrics import ServingMetrics
    from services.serving.queue import Recovery
    from services.serving.results import ResultStore
    from services.serving.store import JobStore


@dataclass(frozen=True)
class SweepReport:
    """What one pass did (job ids)."""

    requeued: list[str]
    failed: list[str]
    cancelled: list[str]
    expired: list[str]
    orphans: list[str]


class Maintenance:
    """Runs :meth:`run_once` every ``interval_s`` in a daemon thread."""

    def __init__(self, store: JobStore, results: ResultStore, metrics: ServingMetrics, *, interval_s: float,
                 max_attempts: int) -> None:
        self.store, self.results, self.metrics = store, results, metrics
        self.interval_s, self.max_attempts = interval_s, max_attempts
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def recover(self, replica_id: str | None = None) -> Recovery:
        """Recover lost jobs (all with an expired lease, or every running job of ``replica_id``)."""
        report = self.store.recover_lost(self.max_attempts, replica_id=replica_id)
        if report.requeued:
            self.metrics.jobs_requeued.inc(len(report.requeued))
        if report.requeued or report.failed or report.cancelled:
            get_logger(__name__).warning("recovered lost jobs", requeued=report.requeued, failed=report.failed,
                                         cancelled=report.cancelled, replica=replica_id)
        return report

    def run_once(self) -> SweepReport:
        """One pass of the three steps (see the module docstring)."""
        recovered = self.recover()
        expired = []
        for job in self.store.expired_results():
            self.results.delete_job(job.job_id)
            expired.append(job.job_id)
        self.store.mark_results_deleted(expired)
        ids = self.results.job_ids()
        live = self.store.live_result_ids(ids)
        orphans = [i for i in ids if i not in live]
        for job_id in orphans:
            self.results.delete_job(job_id)
        if expired or orphans:
            self.metrics.results_deleted.inc(len(expired) + len(orphans))
            get_logger(__name__).info("results deleted", expired=len(expired), orphans=len(orphans))
        return SweepReport(recovered.requeued, recovered.failed, recovered.cancelled, expired, orphans)

    def start(self) -> None:
        """Start the periodic thread (first pass after one interval)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="vidforge-maintenance", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.run_once()
            except Exception:  # the database or the store blinked: try again next interval
                get_logger(__name__).exception("maintenance pass failed")
