"""Property-based requests from the service's OpenAPI schema (schemathesis), with an admin token: no 5xx.

The service runs in uvicorn on a loopback port with the tiny model loaded (its
watcher reads the registry over HTTP) and no workers, so accepted jobs stay
queued; the rate limits are lifted so every generated request reaches a route.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from services.serving.app import create_app
from services.serving.store import JobStore
from tests.services.serving.conftest import RegistryApi
from tests.services.serving.helpers import free_port, http_ok
from vidforge.settings import Settings

ADMIN = "schemathesis-admin-7f3a"


@pytest.fixture
def live_service(settings: Settings, registry_api: RegistryApi, wait_for: Callable[..., None]
                 ) -> Iterator[tuple[str, str]]:
    """``(base_url, admin_token)`` of the service in uvicorn, model loaded, workers off."""
    for name, value in {"request_rate_per_min": 1e9, "request_burst": 10**6, "submit_rate_per_min": 1e9,
                        "submit_burst": 10**6, "max_queue": 10**6, "max_active_jobs_per_token": 10**6}.items():
        setattr(settings.serving, name, value)
    store = JobStore.from_settings(settings)
    _, admin = store.create_token(ADMIN, "admin", "test")
    store.dispose()
    app = create_app(settings, start_background=False, source_factory=registry_api.source)
    assert app.state.serving.watcher.refresh_now().outcome == "loaded"
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: http_ok(f"{base}/healthz"), what="the service to listen")
    yield base, admin
    server.should_exit = True
    thread.join(10)


def test_no_input_makes_a_server_error(live_service: tuple[str, str]) -> None:
    base, admin = live_service
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 11
    failures: list[str] = []
    statuses: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: Any) -> None:
            if case.path == "/v1/admin/tokens/{name}" and case.method == "DELETE" and case.path_parameters.get(
                    "name") == ADMIN:
                return  # revoking the token the run uses would end the run
            response = case.call(base_url=base, headers={"Authorization": f"Bearer {admin}"})
            statuses.append(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}")
            case.validate_response(response, checks=[not_a_server_error])

        check()
    assert failures == []
    assert len(statuses) > 100 and any(200 <= s < 300 for s in statuses)


def test_the_schema_documents_every_sampling_parameter(live_service: tuple[str, str]) -> None:
    import httpx

    spec = httpx.get(f"{live_service[0]}/openapi.json").json()
    form = spec["paths"]["/v1/jobs"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["image"] and form["properties"]["image"]["format"] == "binary"
    assert set(form["properties"]) == {
        "image", "num_frames", "fps", "motion_bucket_id", "motion_score", "noise_aug_strength",
        "num_inference_steps", "seed", "min_guidance_scale", "max_guidance_scale", "height", "width", "return_frames"}
    assert "px" in form["properties"]["motion_score"]["description"]
    params = {p["name"] for p in spec["paths"]["/v1/jobs"]["post"]["parameters"]}
    assert params == {"Idempotency-Key"}
