"""Token buckets: a burst, then the sustained rate; each key on its own."""

from __future__ import annotations

import pytest

from services.serving.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_burst_then_rate_and_wait_time() -> None:
    clock = Clock()
    limiter = RateLimiter(rate_per_min=60, burst=3, clock=clock)
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") == pytest.approx(1.0)  # one token per second
    assert limiter.take("b") == 0.0  # another key has its own bucket
    clock.t = 0.5
    assert limiter.take("a") == pytest.approx(0.5)
    clock.t = 1.0
    assert limiter.take("a") == 0.0
    clock.t = 100.0
    assert [limiter.take("a") for _ in range(4)][-1] > 0  # refills only up to the burst


def test_invalid_configuration() -> None:
    with pytest.raises(ValueError, match="rate_per_min"):
        RateLimiter(0, 1)
