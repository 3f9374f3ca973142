"""``serve(settings)`` runs a real uvicorn on 127.0.0.1 that loads the model and stops on SIGINT."""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from vidforge.settings import Settings


@pytest.mark.slow  # a fresh interpreter imports torch + diffusers (~10-30 s)
def test_serve_loads_model_and_shuts_down_cleanly(
    settings: Settings, wait_for: Callable[..., None], spawn_server: Callable[..., Any],
    ok: Callable[[str], bool],
) -> None:
    with spawn_server("services.serving.cli:serve", settings) as (proc, base):
        wait_for(lambda: ok(f"{base}/readyz"), timeout=90, what="serve() to become ready")
        ready = httpx.get(f"{base}/readyz").json()
        assert (ready["model_name"], ready["model_version"]) == ("vidforge-i2v", 1)
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
        output = proc.stdout.read().decode()
    port = base.rsplit(":", 1)[1]
    assert '"event": "serving starts"' in output and f'"port": {port}' in output
    assert '"event": "model swapped in"' in output
