"""Load over loopback HTTP while ``production`` moves twice: no job fails, each runs on the version live at its start.

Bounded: 24 jobs, at most 180 s. Registry and service both listen on 127.0.0.1
(uvicorn); the service follows the alias by polling the registry's API every
0.2 s and runs two workers; a client thread submits a job every 50 ms (polling
each to its end) while the test promotes version 2, then version 3, waiting
for each swap before streaming on.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from services.serving.app import create_app
from tests.services.serving.conftest import MODEL, Artifacts, GovernedRegistry
from tests.services.serving.helpers import free_port, http_ok
from vidforge.settings import Settings

JOBS = 24
MOVES_AFTER = (6, 14)
SMALL = {"num_frames": "3", "height": "32", "width": "48", "num_inference_steps": "2"}


@pytest.fixture
def service(settings: Settings, live_registry: tuple[str, str], tokens: dict[str, str],
            wait_for: Callable[..., None]) -> Iterator[tuple[str, Any]]:
    settings.registry.url, token = live_registry
    settings.registry.token = SecretStr(token)
    for name, value in {"workers": 2, "max_active_jobs_per_token": 100, "max_queue": 100,
                        "submit_rate_per_min": 6000, "submit_burst": 100}.items():
        setattr(settings.serving, name, value)
    app = create_app(settings)  # the default source: RegistryClient at registry.url, over loopback
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: http_ok(f"{base}/readyz"), timeout=60, what="the service to be ready")
    yield base, app
    server.should_exit = True
    thread.join(30)


def _live_version(history: list[tuple[datetime, int]], at: datetime) -> int:
    times = [t for t, _ in history]
    return history[bisect.bisect_right(times, at) - 1][1]


@pytest.mark.slow  # ~30-60 s on 2 CPUs
def test_two_promotions_under_load_fail_no_job_and_keep_each_on_its_start_version(
    service: tuple[str, Any], registry: GovernedRegistry, artifacts: Artifacts, tokens: dict[str, str],
    png: Callable[..., bytes], wait_for: Callable[..., None],
) -> None:
    base, app = service
    headers = {"Authorization": f"Bearer {tokens['alice']}"}
    submitted: list[str] = []
    errors: list[str] = []
    moved: list[int] = []
    started = time.monotonic()

    def stream() -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            for i in range(JOBS):
                r = client.post("/v1/jobs", files={"image": ("in.png", png(seed=i), "image/png")},
                                data={**SMALL, "seed": str(i)})
                if r.status_code != 202:
                    errors.append(f"submit {i}: {r.status_code} {r.text[:200]}")
                    return
                submitted.append(r.json()["job_id"])
                while len(submitted) in MOVES_AFTER and len(moved) < MOVES_AFTER.index(len(submitted)) + 1:
                    time.sleep(0.02)  # let the test move the alias at this point of the stream
                time.sleep(0.05)

    streamer = threading.Thread(target=stream)
    streamer.start()
    for version, uri, sha in ((2, artifacts.v2.uri, artifacts.v2.sha256), (3, artifacts.v1.uri, artifacts.v1.sha256)):
        wait_for(lambda: len(submitted) >= MOVES_AFTER[len(moved)] or bool(errors), timeout=60, what="the stream")
        registry.create_version(MODEL, artifact_uri=uri, sha256=sha)
        registry.set_alias(MODEL, "production", version)
        wait_for(lambda v=version: httpx.get(f"{base}/readyz").json()["model_version"] == v, timeout=60,
                 what=f"swap to v{version}")
        moved.append(version)
    streamer.join(120)
    assert errors == [] and len(submitted) == JOBS

    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        jobs = []
        for job_id in submitted:
            job = client.get(f"/v1/jobs/{job_id}", params={"wait": 30}).json()
            jobs.append(job)
    assert time.monotonic() - started < 180
    assert [j["status"] for j in jobs] == ["succeeded"] * JOBS, [j["error"] for j in jobs if j["error"]]
    history = app.state.serving.watcher.history
    assert [v for _, v in history] == [1, 2, 3]
    for job in jobs:
        at = datetime.fromisoformat(job["started_at"])
        assert job["model"]["version"] == _live_version(history, at), job
    sha = {1: artifacts.v1.sha256, 2: artifacts.v2.sha256, 3: artifacts.v1.sha256}
    assert all(j["model"]["sha256"] == sha[j["model"]["version"]] for j in jobs)
    assert {j["model"]["version"] for j in jobs} == {1, 2, 3}  # every version served part of the stream
