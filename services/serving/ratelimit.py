"""Per-token token buckets: ``rate_per_min`` sustained, ``burst`` at once.

Buckets live in this replica's memory (a token's effective limit across N
replicas is N times the configured one); what must hold globally — the queue
bound and each token's concurrent-job quota — is counted in the job database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

MAX_KEYS = 100_000
"""Buckets kept before idle (full) ones are forgotten."""


class RateLimiter:
    """A token bucket per key (a token's name).

    Args:
        rate_per_min: tokens added per minute.
        burst: bucket size (requests allowed at once after idling).
        clock: monotonic seconds (injectable for tests).
    """

    def __init__(self, rate_per_min: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if rate_per_min <= 0 or burst < 1:
            raise ValueError(f"rate_per_min must be > 0 and burst >= 1, got {rate_per_min}, {burst}")
        self.rate_per_s = rate_per_min / 60.0
        self.burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one token for ``key``: 0.0 when allowed, else the seconds until one is available."""
        with self._lock:
            now = self._clock()
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate_per_s)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                if len(self._buckets) > MAX_KEYS:
                    self._forget_full(now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate_per_s

    def _forget_full(self, now: float) -> None:
        refill_s = self.burst / self.rate_per_s
        for key, (_, last) in list(self._buckets.items()):
            if now - last >= refill_s:
                del self._buckets[key]
