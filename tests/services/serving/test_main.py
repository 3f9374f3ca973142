"""``run(settings)`` binds settings.serving.host:port and answers even before the registry answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from vidforge.settings import Settings


def test_run_serves_health_without_registry(
    settings: Settings, wait_for: Callable[..., None], spawn_server: Callable[..., Any], ok: Callable[[str], bool],
) -> None:
    with spawn_server("services.serving.main:run", settings, ("http://127.0.0.1:9", "vf_x")) as (_, base):
        wait_for(lambda: ok(f"{base}/healthz"), timeout=60, what="run() to listen")
        wait_for(lambda: "registry unavailable" in httpx.get(f"{base}/readyz").json()["reason"],
                 what="a failed registry poll")
        r = httpx.get(f"{base}/readyz")
        assert r.status_code == 503 and r.json()["model_version"] is None
        assert 'vidforge_serving_model_load_failures_total{reason="registry"}' in httpx.get(f"{base}/metrics").text
