"""Small helpers the serving tests share: ports, waiting, HTTP probes."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pytest


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    """Poll ``predicate`` every 50 ms until true; fail the test after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def http_ok(url: str) -> bool:
    """Whether GET ``url`` answers 200 (False while nothing listens)."""
    import httpx

    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.TransportError:
        return False
