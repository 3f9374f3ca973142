"""``/healthz``, ``/readyz`` and ``/metrics``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi.testclient import TestClient


def test_healthz_is_up_without_a_model(make_client: Callable[..., TestClient]) -> None:
    client = make_client(load=False, worker=False)
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_readyz_503_with_reason_then_200(make_client: Callable[..., TestClient]) -> None:
    client = make_client(load=False, worker=False)
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json() == {"status": "not_ready", "model_name": "vidforge-i2v", "model_version": None,
                        "reason": "not polled yet", "queue_depth": 0}

    client.app.state.serving.watcher.refresh_now()  # type: ignore[attr-defined]

    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json() | {"reason": ""} == {"status": "ready", "model_name": "vidforge-i2v", "model_version": 1,
                                         "reason": "", "queue_depth": 0}
    assert "serving version 1" in r.json()["reason"]


def test_metrics_exposes_this_apps_series(make_client: Callable[..., TestClient]) -> None:
    client = make_client(worker=False)
    client.get("/healthz")
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert 'vidforge_serving_requests_total{method="GET",route="/healthz",status="200"} 1.0' in text
    assert "vidforge_serving_model_loads_total 1.0" in text
    assert "vidforge_serving_model_version 1.0" in text
    assert 'vidforge_serving_model_info{name="vidforge-i2v",' in text and 'version="1"' in text
    assert "vidforge_serving_queue_depth 0.0" in text
