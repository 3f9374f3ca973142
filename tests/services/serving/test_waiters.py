"""JobWaiters: a worker thread's notify wakes the long-polls waiting for that job, and only those."""

from __future__ import annotations

import asyncio
import threading
import time

from services.serving.waiters import FALLBACK_MAX_S, FALLBACK_S, JobWaiters, fallback_s


def test_notify_from_a_thread_wakes_the_waiter_at_once() -> None:
    waiters = JobWaiters()

    async def scenario() -> tuple[bool, float, bool]:
        threading.Timer(0.05, waiters.notify, args=("job-a",)).start()
        started = time.perf_counter()
        woken = await waiters.wait("job-a", 10.0)
        elapsed = time.perf_counter() - started
        other = await waiters.wait("job-b", 0.05)  # nobody notifies job-b: it times out
        return woken, elapsed, other

    woken, elapsed, other = asyncio.run(scenario())
    assert woken and elapsed < FALLBACK_S and not other
    assert waiters._waiting == {}  # nothing left behind


def test_waits_are_capped_by_the_fallback() -> None:
    async def scenario() -> float:
        started = time.perf_counter()
        await JobWaiters().wait("job-a", 30.0)
        return time.perf_counter() - started

    assert FALLBACK_S <= asyncio.run(scenario()) < FALLBACK_S + 0.2


def test_fallback_waits_grow_to_their_cap() -> None:
    assert [fallback_s(i) for i in range(6)] == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0] and fallback_s(100) == FALLBACK_MAX_S
