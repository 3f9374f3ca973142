"""ServingMetrics registries are per instance; the middleware labels by route template."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from services.serving.metrics import ServingMetrics

if TYPE_CHECKING:
    from fastapi.testclient import TestClient


def test_instances_do_not_collide() -> None:
    a, b = ServingMetrics(), ServingMetrics()
    a.jobs_finished.labels("failed").inc()
    assert a.registry.get_sample_value("vidforge_serving_jobs_total", {"state": "failed"}) == 1
    assert b.registry.get_sample_value("vidforge_serving_jobs_total", {"state": "failed"}) is None
    assert b"vidforge_serving_model_version 0.0" in b.render()


def test_requests_counted_by_template_not_raw_path(make_client: Callable[..., TestClient]) -> None:
    client = make_client(load=False, worker=False)
    for job_id in ("job-a", "job-b"):
        assert client.get(f"/v1/jobs/{job_id}").status_code == 404
    assert client.get("/no/such/route").status_code == 404
    m = client.app.state.serving.metrics  # type: ignore[attr-defined]

    def count(route: str, method: str, status: str) -> float | None:
        labels = {"route": route, "method": method, "status": status}
        return m.registry.get_sample_value("vidforge_serving_requests_total", labels)

    assert count("/v1/jobs/{job_id}", "GET", "404") == 2
    assert count("unmatched", "GET", "404") == 1
    assert "job-a" not in m.render().decode()
