"""``/healthz``, ``/readyz`` and ``/metrics``: open, and readiness tells the truth."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from tests.services.serving.conftest import MODEL, Artifacts, GovernedRegistry

if TYPE_CHECKING:
    from fastapi.testclient import TestClient


def test_open_routes_need_no_token_and_the_rest_do(make_client: Callable[..., TestClient]) -> None:
    client = make_client(load=False, worker=False, token=None)
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 503
    assert client.get("/metrics").status_code == 200
    for method, path in (("get", "/v1/jobs"), ("post", "/v1/jobs"), ("get", "/v1/jobs/job-x"),
                         ("delete", "/v1/jobs/job-x"), ("get", "/v1/jobs/job-x/video"), ("get", "/v1/models/current"),
                         ("get", "/v1/admin/tokens")):
        r = getattr(client, method)(path)
        assert r.status_code == 401 and r.json()["error"] == "unauthenticated", (method, path)
        assert r.headers["www-authenticate"] == "Bearer"


def test_readyz_not_ready_with_reason_then_ready(make_client: Callable[..., TestClient],
                                                 artifacts: Artifacts) -> None:
    client = make_client(load=False, worker=False, token=None)
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json() == {
        "status": "not_ready", "model_name": MODEL, "model_version": None, "model_sha256": None,
        "target_version": None, "reason": "not polled yet", "queue_depth": 0, "running_jobs": 0,
    }
    client.app.state.serving.watcher.refresh_now()  # type: ignore[attr-defined]
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ready"
    assert (r.json()["model_version"], r.json()["target_version"], r.json()["model_sha256"]) == (
        1, 1, artifacts.v1.sha256)


def test_a_refused_promotion_turns_readiness_red(
    make_client: Callable[..., TestClient], registry: GovernedRegistry, artifacts: Artifacts
) -> None:
    client = make_client(worker=False, token=None)
    registry.create_version(MODEL, artifact_uri=artifacts.v1.uri, sha256="f" * 64)
    registry.set_alias(MODEL, "production", 2)
    client.app.state.serving.watcher.refresh_now()  # type: ignore[attr-defined]
    r = client.get("/readyz")
    assert r.status_code == 503 and (r.json()["model_version"], r.json()["target_version"]) == (1, 2)
    assert "production is version 2 but it failed to load (sha256_mismatch" in r.json()["reason"]
    text = client.get("/metrics").text
    assert "vidforge_serving_ready 0.0" in text
    assert 'vidforge_serving_model_load_failures_total{reason="sha256_mismatch"} 1.0' in text


def test_readyz_is_red_when_the_job_database_is_away(make_client: Callable[..., TestClient]) -> None:
    client = make_client(worker=False, token=None)
    db = Path(client.app.state.serving.store.db_url.removeprefix("sqlite:///"))  # type: ignore[attr-defined]
    client.app.state.serving.store.dispose()  # type: ignore[attr-defined]
    moved = db.with_name("elsewhere.db")
    db.rename(moved)
    db.mkdir()  # a directory where the file was: every connection fails
    try:
        r = client.get("/readyz")
        assert r.status_code == 503 and r.json()["reason"].startswith("job database unavailable")
        assert "vidforge_serving_queue_depth NaN" in client.get("/metrics").text
    finally:
        db.rmdir()
        moved.rename(db)
