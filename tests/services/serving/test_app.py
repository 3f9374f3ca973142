"""create_app end to end: background threads, hot swap by polling, and durability across a restart."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from services.serving.app import create_app
from services.serving.entities import JobState
from services.serving.results import VIDEO
from tests.services.serving.conftest import MODEL, Artifacts, GovernedRegistry, RegistryApi
from tests.services.serving.routes.test_jobs import SMALL, finish, submit
from vidforge.settings import Settings

if TYPE_CHECKING:
    from fastapi.testclient import TestClient


def test_apps_share_nothing_but_the_database(settings: Settings, registry_api: RegistryApi) -> None:
    a = create_app(settings, start_background=False, source_factory=registry_api.source)
    b = create_app(settings, start_background=False, source_factory=registry_api.source)
    sa, sb = a.state.serving, b.state.serving
    assert sa.metrics.registry is not sb.metrics.registry
    assert sa.watcher is not sb.watcher and sa.workers is not sb.workers
    assert sa.workers.config.replica_id != sb.workers.config.replica_id  # random per process when unset
    assert sa.store.db_url == sb.store.db_url
    sa.store.dispose()
    sb.store.dispose()


def test_background_lifecycle_end_to_end(
    make_client: Callable[..., TestClient], registry: GovernedRegistry, artifacts: Artifacts,
    png: Callable[..., bytes], wait_for: Callable[..., None],
) -> None:
    client = make_client(load=False, worker=False, start_background=True)
    wait_for(lambda: client.get("/readyz").status_code == 200, what="first load by the poll thread")
    first = finish(client, client.post("/v1/jobs", files={"image": ("in.jpg", png(fmt="JPEG"), "image/jpeg")})
                   .json()["job_id"])
    assert first["status"] == "succeeded" and first["params"]["num_frames"] == 4  # the model's defaults

    registry.create_version(MODEL, artifact_uri=artifacts.v2.uri, sha256=artifacts.v2.sha256)
    registry.set_alias(MODEL, "production", 2)
    wait_for(lambda: client.get("/readyz").json()["model_version"] == 2, what="poll-driven swap")
    second = finish(client, submit(client, png(), seed=1, **SMALL).json()["job_id"])
    assert second["model"]["version"] == 2

    registry.create_version(MODEL, artifact_uri=artifacts.v1.uri, sha256="f" * 64)
    registry.set_alias(MODEL, "production", 3)
    wait_for(lambda: client.get("/readyz").status_code == 503, what="refusal of version 3")
    ready = client.get("/readyz").json()
    assert (ready["model_version"], ready["target_version"]) == (2, 3) and "sha256_mismatch" in ready["reason"]


def test_a_restart_resumes_the_queue_and_keeps_finished_results(
    settings: Settings, registry_api: RegistryApi, tokens: dict[str, str], png: Callable[..., bytes],
    wait_for: Callable[..., None],
) -> None:
    from fastapi.testclient import TestClient

    settings.serving.replica_id = "replica-a"  # a stable name (a StatefulSet pod, a systemd unit)
    headers = {"Authorization": f"Bearer {tokens['alice']}"}
    app = create_app(settings, start_background=False, source_factory=registry_api.source)
    with TestClient(app, headers=headers) as before:
        state = before.app.state.serving  # type: ignore[attr-defined]
        state.watcher.refresh_now()
        done = submit(before, png(), seed=1, **SMALL).json()["job_id"]
        assert state.workers.run_next() is not None
        interrupted = submit(before, png(), seed=2, **SMALL).json()["job_id"]
        waiting = submit(before, png(), seed=3, **SMALL).json()["job_id"]
        # the process dies while a job runs: it was claimed, and nothing more happened
        claimed = state.store.claim("replica-a", state.watcher.require().stamp, datetime.now(UTC), 3600)
        assert claimed.job.job_id == interrupted
        orphan = state.results.put_bytes(b"half an mp4", state.results.key("job-" + "e" * 32, 1, VIDEO))
        assert before.get(f"/v1/jobs/{interrupted}").json()["status"] == "running"

    app = create_app(settings, start_background=True, source_factory=registry_api.source)
    with TestClient(app, headers=headers) as after:
        for job_id in (interrupted, waiting):
            wait_for(lambda j=job_id: after.get(f"/v1/jobs/{j}").json()["status"] == "succeeded", timeout=60,
                     what=f"{job_id} after the restart")
        resumed = after.get(f"/v1/jobs/{interrupted}").json()
        assert resumed["attempts"] == 2 and resumed["model"]["version"] == 1  # re-run from the start
        assert after.get(f"/v1/jobs/{done}/video").status_code == 200  # finished before: still there
        after.app.state.serving.maintenance.run_once()  # type: ignore[attr-defined]
        assert not after.app.state.serving.results.store.exists(orphan)  # type: ignore[attr-defined]
        counts = after.app.state.serving.store.counts()  # type: ignore[attr-defined]
        assert counts[JobState.SUCCEEDED] == 3 and counts[JobState.RUNNING] == counts[JobState.QUEUED] == 0
