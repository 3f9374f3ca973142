"""Metrics: conventional names and units, per-app registries, requests by route template."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from prometheus_client.parser import text_string_to_metric_families

from services.serving.metrics import ServingMetrics
from tests.services.serving.routes.test_jobs import SMALL, finish, submit

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

#: Every family the service exports, with its type (the dashboard and alert rules use these).
FAMILIES = {
    "vidforge_serving_http_requests": "counter", "vidforge_serving_http_request_duration_seconds": "histogram",
    "vidforge_serving_jobs_submitted": "counter", "vidforge_serving_jobs_rejected": "counter",
    "vidforge_serving_jobs": "counter", "vidforge_serving_generation_duration_seconds": "histogram",
    "vidforge_serving_queue_wait_seconds": "histogram", "vidforge_serving_queue_depth": "gauge",
    "vidforge_serving_queue_capacity": "gauge", "vidforge_serving_running_jobs": "gauge",
    "vidforge_serving_workers": "gauge", "vidforge_serving_jobs_requeued": "counter",
    "vidforge_serving_results_deleted": "counter", "vidforge_serving_model_loads": "counter",
    "vidforge_serving_model_load_failures": "counter", "vidforge_serving_model_load_duration_seconds": "histogram",
    "vidforge_serving_model_version": "gauge", "vidforge_serving_model_info": "gauge",
    "vidforge_serving_ready": "gauge",
}


def test_families_and_types() -> None:
    metrics = ServingMetrics()
    metrics.bind(queue_depth=lambda: 3, running=lambda: 1, workers=2, capacity=16)
    metrics.set_model("m", 1, "ab" * 32)  # an info series: labels on a constant 1
    families = text_string_to_metric_families(metrics.render().decode())
    found = {f.name: f.type for f in families if not f.name.endswith("_created")}
    assert found == FAMILIES


def test_instances_do_not_collide_and_failed_reads_are_nan() -> None:
    a, b = ServingMetrics(), ServingMetrics()
    a.jobs.labels("failed").inc()
    assert a.registry.get_sample_value("vidforge_serving_jobs_total", {"outcome": "failed"}) == 1
    assert b.registry.get_sample_value("vidforge_serving_jobs_total", {"outcome": "failed"}) is None

    def broken() -> float:
        raise OSError("database away")

    a.bind(queue_depth=broken, running=lambda: 0, workers=1, capacity=1)
    assert b"vidforge_serving_queue_depth NaN" in a.render()


def test_a_job_is_measured_end_to_end(make_client: Callable[..., TestClient], png: Callable[..., bytes]) -> None:
    client = make_client()
    for job_id in ("job-a", "job-b"):
        assert client.get(f"/v1/jobs/{job_id}").status_code == 404
    assert finish(client, submit(client, png(), **SMALL).json()["job_id"])["status"] == "succeeded"
    text = client.get("/metrics").text
    assert 'vidforge_serving_http_requests_total{method="GET",route="/v1/jobs/{job_id}",status="404"} 2.0' in text
    assert 'vidforge_serving_http_requests_total{method="POST",route="/v1/jobs",status="202"} 1.0' in text
    assert "job-a" not in text
    assert 'vidforge_serving_jobs_total{outcome="succeeded"} 1.0' in text
    assert 'vidforge_serving_generation_duration_seconds_count{outcome="succeeded"} 1.0' in text
    assert "vidforge_serving_queue_wait_seconds_count 1.0" in text
    assert "vidforge_serving_jobs_submitted_total 1.0" in text
    assert "vidforge_serving_queue_depth 0.0" in text and "vidforge_serving_workers 1.0" in text
    assert 'vidforge_serving_model_info{name="vidforge-i2v",sha256="' in text
