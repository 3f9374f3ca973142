"""create_app end to end with its background threads: load, serve, hot-swap by polling, refuse bad digests."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from services.registry.store import RegistryStore
from services.serving.app import create_app

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from tests.services.serving.conftest import Artifacts
    from vidforge.settings import Settings


def test_apps_share_nothing(settings: Settings) -> None:
    a = create_app(settings, start_background=False)
    b = create_app(settings, start_background=False)
    sa, sb = a.state.serving, b.state.serving
    assert sa.metrics.registry is not sb.metrics.registry
    assert sa.watcher is not sb.watcher and sa.jobs is not sb.jobs
    assert sa.jobs.output_dir == sb.jobs.output_dir


def test_background_lifecycle_end_to_end(
    make_client: Callable[..., TestClient], registry: RegistryStore, artifacts: Artifacts,
    png: Callable[..., bytes], wait_for: Callable[..., None], decode_mp4: Callable[[bytes], np.ndarray],
) -> None:
    import av

    client = make_client(load=False, worker=False, start_background=True)
    wait_for(lambda: client.get("/readyz").status_code == 200, what="first load by the poll thread")

    # Model defaults from vidforge.json: 64x64, 4 frames, fps 6, 2 steps.
    job = client.post("/v1/jobs", files={"image": ("in.jpg", png(fmt="JPEG"), "image/jpeg")}).json()
    wait_for(lambda: client.get(f"/v1/jobs/{job['job_id']}").json()["status"] == "succeeded", what="job 1")
    data = client.get(f"/v1/jobs/{job['job_id']}/video").content
    assert decode_mp4(data).shape == (4, 64, 64, 3)
    import io

    with av.open(io.BytesIO(data)) as c:
        assert c.streams.video[0].average_rate == 6

    # Promote version 2: the poll thread swaps it in.
    registry.create_version("vidforge-i2v", artifact_uri=artifacts.v2.uri, sha256=artifacts.v2.sha256)
    registry.set_alias("vidforge-i2v", "production", 2)
    wait_for(lambda: client.get("/readyz").json()["model_version"] == 2, what="poll-driven swap")
    job2 = client.post("/v1/jobs", files={"image": ("in.png", png(), "image/png")}, data={"seed": "1"})
    assert job2.status_code == 202 and job2.json()["model_version"] == 2

    # A version whose digest does not match is refused; version 2 keeps serving.
    registry.create_version("vidforge-i2v", artifact_uri=artifacts.v1.uri, sha256="f" * 64)
    registry.set_alias("vidforge-i2v", "production", 3)
    failures = 'vidforge_serving_model_load_failures_total{reason="sha256_mismatch"} 1.0'
    wait_for(lambda: failures in client.get("/metrics").text, what="refusal of version 3")
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["model_version"] == 2
    assert "version 3 refused (sha256_mismatch)" in ready.json()["reason"]
    wait_for(lambda: client.get(f"/v1/jobs/{job2.json()['job_id']}").json()["status"] == "succeeded",
             what="job 2")

    text = client.get("/metrics").text
    assert 'vidforge_serving_jobs_total{state="succeeded"} 2.0' in text
    assert "vidforge_serving_jobs_submitted_total 2.0" in text
    assert "vidforge_serving_generation_seconds_count 2.0" in text
    assert "vidforge_serving_model_loads_total 2.0" in text
    assert "vidforge_serving_model_version 2.0" in text
    assert 'vidforge_serving_requests_total{method="POST",route="/v1/jobs",status="202"} 2.0' in text
    assert 'route="/v1/jobs/{job_id}",status="200"' in text
