"""``run(settings)`` binds settings.serving.host:port and answers even before a model exists."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from vidforge.settings import Settings


def test_run_serves_health_without_registry(
    settings: Settings, tmp_path: Path, wait_for: Callable[..., None], spawn_server: Callable[..., Any],
    ok: Callable[[str], bool],
) -> None:
    away = settings.model_copy(deep=True)
    away.registry.db_url = f"sqlite:///{tmp_path / 'absent' / 'reg.db'}"
    with spawn_server("services.serving.main:run", away) as (_, base):
        wait_for(lambda: ok(f"{base}/healthz"), timeout=60, what="run() to listen")
        wait_for(lambda: "registry unavailable" in httpx.get(f"{base}/readyz").json()["reason"],
                 what="a failed registry poll")
        r = httpx.get(f"{base}/readyz")
        assert r.status_code == 503 and r.json()["model_version"] is None
        assert "vidforge_serving_model_load_failures_total" in httpx.get(f"{base}/metrics").text
