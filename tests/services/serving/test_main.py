"""``run(settings)``: binds host:port before the registry answers; two replicas on one database split the work."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

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


@pytest.mark.slow  # two fresh interpreters import torch + diffusers and load the model (~30-60 s on 2 CPUs)
def test_two_replicas_on_one_database_and_store_split_the_work(
    settings: Settings, live_registry: tuple[str, str], tokens: dict[str, str], png: Callable[..., bytes],
    wait_for: Callable[..., None], spawn_server: Callable[..., Any], ok: Callable[[str], bool], tmp_path: Path,
) -> None:
    replicas = []
    for name in ("replica-a", "replica-b"):
        own = settings.model_copy(deep=True)  # same job database and object store; own model cache, like a pod
        own.serving.replica_id, own.serving.cache_dir = name, str(tmp_path / f"cache-{name}")
        own.serving.max_active_jobs_per_token = 100
        replicas.append(own)
    headers = {"Authorization": f"Bearer {tokens['alice']}"}
    with ExitStack() as stack:
        (_, a), (_, b) = (stack.enter_context(spawn_server("services.serving.main:run", s, live_registry))
                          for s in replicas)
        for base in (a, b):
            wait_for(lambda base=base: ok(f"{base}/readyz"), timeout=120, what=f"{base} ready")
        ids = []
        for i in range(10):  # all submitted to replica a; replica b claims from the shared database
            r = httpx.post(f"{a}/v1/jobs", headers=headers, files={"image": ("i.png", png(seed=i), "image/png")},
                           data={"num_frames": "3", "height": "32", "width": "48", "num_inference_steps": "4"})
            assert r.status_code == 202, r.text
            ids.append(r.json()["job_id"])
        jobs = [httpx.get(f"{b}/v1/jobs/{i}", headers=headers, params={"wait": 30}, timeout=60).json() for i in ids]
        assert [j["status"] for j in jobs] == ["succeeded"] * 10 and {j["attempts"] for j in jobs} == {1}
        assert httpx.get(f"{b}/v1/jobs/{ids[0]}/video", headers=headers).status_code == 200  # any replica serves it
    engine = sa.create_engine(settings.serving.db_url)
    try:
        with engine.connect() as conn:
            ran_on = dict(conn.execute(sa.text("SELECT id, replica_id FROM serving_jobs")).all())
    finally:
        engine.dispose()
    assert set(ran_on) == set(ids) and set(ran_on.values()) == {"replica-a", "replica-b"}  # both did work, once each
