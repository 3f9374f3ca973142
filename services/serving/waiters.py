"""Wake long-polling requests (``GET /v1/jobs/{id}?wait=``) the moment this replica ends a job.

Workers run in threads and requests in the event loop: :meth:`JobWaiters.notify`
is thread-safe and sets the asyncio events of every request waiting for that job
through their loop. A job that ends on another replica is seen by the request's
fallback re-read of the database, after :data:`FALLBACK_S`, then twice as long
each time up to :data:`FALLBACK_MAX_S`: re-reads are Python work that competes
with a generation running in this process (on a small model, one read every
0.25 s slowed it by ~5 %), so they are kept rare.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

FALLBACK_S = 0.25
"""First wait of a request before it re-reads the job from the database."""
FALLBACK_MAX_S = 2.0
"""Longest a waiting request goes without re-reading the job (how late it sees another replica's end)."""


def fallback_s(round_no: int) -> float:
    """The ``round_no``-th (0-based) wait before a re-read: 0.25, 0.5, 1, 2, 2, ... s."""
    return min(FALLBACK_MAX_S, FALLBACK_S * 2 ** min(round_no, 16))


class JobWaiters:
    """Per-job asyncio events that worker threads can set."""

    def __init__(self) -> None:
        self._waiting: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
        self._lock = threading.Lock()

    async def wait(self, job_id: str, timeout: float, round_no: int = 0) -> bool:
        """Wait up to ``min(timeout, fallback_s(round_no))`` s for :meth:`notify` of ``job_id``; True when notified."""
        entry = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._waiting.setdefault(job_id, set()).add(entry)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(entry[1].wait(), max(0.0, min(timeout, fallback_s(round_no))))
            return entry[1].is_set()
        finally:
            with self._lock:
                waiting = self._waiting.get(job_id)
                if waiting is not None:
                    waiting.discard(entry)
                    if not waiting:
                        del self._waiting[job_id]

    def notify(self, job_id: str) -> None:
        """``job_id`` changed state: wake its waiters (from any thread)."""
        with self._lock:
            entries = list(self._waiting.get(job_id, ()))
        for loop, event in entries:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(event.set)
