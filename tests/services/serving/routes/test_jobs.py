"""``/v1/jobs`` over HTTP (TestClient) with the tiny model, the registry read over its API, tokens."""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from tests.services.serving.bombs import bomb_png, peak_rss_mb, reset_peak_rss, zero_png
from tests.services.serving.conftest import MODEL, Artifacts, GovernedRegistry, auth
from vidforge.dataset import motion_bucket
from vidforge.digest import sha256_tree

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

SMALL = {"num_frames": "3", "height": "32", "width": "48", "num_inference_steps": "2"}
#: The stated bound on the service's extra peak RSS while it refuses the hostile uploads (MiB).
REFUSAL_RSS_BOUND_MB = 48


def submit(client: TestClient, image: bytes, headers: dict[str, str] | None = None, **fields: Any) -> Any:
    return client.post("/v1/jobs", files={"image": ("in.png", image, "image/png")},
                       data={k: str(v) for k, v in fields.items()}, headers=headers)


def finish(client: TestClient, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}", params={"wait": 5}).json()
        if job["status"] not in ("queued", "running"):
            return job
    pytest.fail(f"job {job_id} did not end")


def test_submit_poll_and_download(
    make_client: Callable[..., TestClient], png: Callable[..., bytes], artifacts: Artifacts,
    decode_mp4: Callable[[bytes], np.ndarray],
) -> None:
    client = make_client()
    r = submit(client, png(), seed=11, fps=12, motion_bucket_id=40, noise_aug_strength=0.1,
               min_guidance_scale=1.5, max_guidance_scale=2.5, **SMALL)
    assert r.status_code == 202, r.text
    body = r.json()
    assert re.fullmatch(r"job-[0-9a-f]{32}", body["job_id"]) and body["status"] == "queued"
    assert r.headers["location"] == f"/v1/jobs/{body['job_id']}" and body["model"] is None

    job = finish(client, body["job_id"])

    assert job["status"] == "succeeded", job
    assert job["params"] == {
        "height": 32, "width": 48, "num_frames": 3, "num_inference_steps": 2, "fps": 12,
        "motion_bucket_id": 40, "noise_aug_strength": 0.1, "min_guidance_scale": 1.5,
        "max_guidance_scale": 2.5, "seed": 11, "motion_score": None,
    }
    assert job["model"] == {"name": MODEL, "version": 1, "sha256": artifacts.v1.sha256}
    assert job["progress"] == {"step": 2, "total_steps": 2, "fraction": 1.0} and job["run_s"] > 0
    assert (job["error"], job["attempts"], job["results"]["frames_url"]) == ("", 1, None)
    video = client.get(job["results"]["video_url"])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert decode_mp4(video.content).shape == (3, 32, 48, 3)


def test_same_seed_same_video_different_seed_differs(
    make_client: Callable[..., TestClient], png: Callable[..., bytes], decode_mp4: Callable[[bytes], np.ndarray],
) -> None:
    client = make_client()
    ids = [submit(client, png(), seed=s, **SMALL).json()["job_id"] for s in (5, 5, 6)]
    assert [finish(client, i)["status"] for i in ids] == ["succeeded"] * 3
    a, b, c = (client.get(f"/v1/jobs/{i}/video").content for i in ids)
    fa, fb, fc = (decode_mp4(x).astype(int) for x in (a, b, c))
    np.testing.assert_array_equal(fa, fb)
    assert np.abs(fa - fc).mean() > 1.0


def test_a_job_runs_on_the_model_live_when_it_starts(
    make_client: Callable[..., TestClient], registry: GovernedRegistry, artifacts: Artifacts,
    png: Callable[..., bytes],
) -> None:
    client = make_client(worker=False)  # jobs wait until after the swap
    state = client.app.state.serving  # type: ignore[attr-defined]
    before = submit(client, png(), seed=3, motion_score=3.0, **SMALL).json()
    registry.create_version(MODEL, artifact_uri=artifacts.v2.uri, sha256=artifacts.v2.sha256)
    registry.set_alias(MODEL, "production", 2)
    assert state.watcher.refresh_now().outcome == "loaded"
    state.workers.start()

    done = finish(client, before["job_id"])

    assert done["model"] == {"name": MODEL, "version": 2, "sha256": artifacts.v2.sha256}
    assert done["params"]["motion_bucket_id"] == motion_bucket(3.0, list(artifacts.v2.edges))  # v2's mapping
    assert done["params"]["motion_score"] == 3.0


def test_motion_score_on_a_model_without_edges_is_422(
    make_client: Callable[..., TestClient], registry: GovernedRegistry, artifacts: Artifacts,
    png: Callable[..., bytes], tmp_path: Path,
) -> None:
    key = f"no-edges/{tmp_path.name}"
    bare = artifacts.store.local_path(key)
    shutil.copytree(artifacts.v1.path, bare)
    meta = json.loads((bare / "vidforge.json").read_text())
    del meta["motion_bucket_edges"]
    (bare / "vidforge.json").write_text(json.dumps(meta))
    registry.create_version(MODEL, artifact_uri=artifacts.store.uri(key), sha256=sha256_tree(bare))
    registry.set_alias(MODEL, "production", 2)
    client = make_client(worker=False)

    r = submit(client, png(), motion_score=1.0, **SMALL)

    assert r.status_code == 422 and r.json()["error"] == "invalid_parameter", r.text
    assert "no motion_bucket_edges" in r.json()["message"]
    ok = submit(client, png(), motion_bucket_id=30, **SMALL)
    assert ok.status_code == 202


def test_idempotency_key_returns_the_same_job_or_409(
    make_client: Callable[..., TestClient], png: Callable[..., bytes]
) -> None:
    client = make_client(worker=False)
    key = {"Idempotency-Key": "order-42"}
    first = submit(client, png(), headers=key, **SMALL)
    again = submit(client, png(), headers=key, **SMALL)
    assert first.status_code == again.status_code == 202
    assert again.json()["job_id"] == first.json()["job_id"] and again.headers["idempotent-replayed"] == "true"
    assert again.json()["params"]["seed"] == first.json()["params"]["seed"]  # the random seed too
    other = submit(client, png(seed=1), headers=key, **SMALL)
    assert other.status_code == 409 and other.json()["error"] == "idempotency_conflict"
    other = submit(client, png(), headers=key, **{**SMALL, "num_frames": "4"})
    assert other.status_code == 409
    assert client.app.state.serving.store.depth() == 1  # type: ignore[attr-defined]


def test_list_is_paginated_filtered_and_only_mine(
    make_client: Callable[..., TestClient], png: Callable[..., bytes], tokens: dict[str, str]
) -> None:
    client = make_client(worker=False, serving={"max_active_jobs_per_token": 10})
    mine = [submit(client, png(), **SMALL).json()["job_id"] for _ in range(3)]
    theirs = submit(client, png(), headers=auth(tokens["bob"]), **SMALL).json()["job_id"]
    client.delete(f"/v1/jobs/{mine[0]}")
    page = client.get("/v1/jobs", params={"limit": 2}).json()
    assert [j["job_id"] for j in page["jobs"]] == mine[:0:-1] and page["next_cursor"]
    rest = client.get("/v1/jobs", params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [j["job_id"] for j in rest["jobs"]] == [mine[0]] and rest["next_cursor"] is None
    cancelled = client.get("/v1/jobs", params={"status": "cancelled"}).json()["jobs"]
    assert [j["job_id"] for j in cancelled] == [mine[0]]
    for path in (f"/v1/jobs/{theirs}", f"/v1/jobs/{theirs}/video"):
        r = client.get(path)
        assert r.status_code == 404 and r.json() == {"error": "job_not_found", "message": f"no job '{theirs}'"}
    assert client.delete(f"/v1/jobs/{theirs}").status_code == 404
    assert client.get("/v1/jobs", params={"status": "lost"}).status_code == 422


def test_cancel_queued_job_and_result_states(make_client: Callable[..., TestClient], png: Callable[..., bytes]) -> None:
    client = make_client(worker=False)
    job_id = submit(client, png(), **SMALL).json()["job_id"]
    r = client.get(f"/v1/jobs/{job_id}/video")
    assert r.status_code == 409 and r.json()["error"] == "job_not_finished" and "queued" in r.json()["message"]
    r = client.delete(f"/v1/jobs/{job_id}")
    assert r.status_code == 202 and r.json()["status"] == "cancelled" and r.json()["cancel_requested"]
    r = client.delete(f"/v1/jobs/{job_id}")
    assert r.status_code == 409 and r.json() == {"error": "job_finished", "message": f"job {job_id} already cancelled"}


def test_unknown_parameters_are_named(make_client: Callable[..., TestClient], png: Callable[..., bytes]) -> None:
    client = make_client(worker=False)
    r = submit(client, png(), steps=10, guidance_scale=3, **SMALL)
    assert r.status_code == 422 and r.json()["error"] == "unknown_parameter"
    assert r.json()["message"].startswith("unknown parameters 'guidance_scale', 'steps'; known: image, ")


def test_full_queue_and_quota_are_429_with_retry_after(
    make_client: Callable[..., TestClient], png: Callable[..., bytes], tokens: dict[str, str]
) -> None:
    client = make_client({"max_queue": 2, "max_active_jobs_per_token": 1}, worker=False)
    assert submit(client, png(), **SMALL).status_code == 202
    r = submit(client, png(), **SMALL)
    assert r.status_code == 429 and r.json()["error"] == "quota_exceeded" and int(r.headers["retry-after"]) >= 1
    assert submit(client, png(), headers=auth(tokens["bob"]), **SMALL).status_code == 202
    r = submit(client, png(), headers=auth(tokens["root"]), **SMALL)
    assert r.status_code == 429 and r.json()["error"] == "queue_full" and int(r.headers["retry-after"]) >= 1
    text = client.get("/metrics").text
    assert 'vidforge_serving_jobs_rejected_total{reason="queue_full"} 1.0' in text


def test_submission_rate_per_token_is_429_with_retry_after(
    make_client: Callable[..., TestClient], png: Callable[..., bytes], tokens: dict[str, str]
) -> None:
    client = make_client({"submit_rate_per_min": 1, "submit_burst": 2, "max_active_jobs_per_token": 10},
                         worker=False)
    assert [submit(client, png(), **SMALL).status_code for _ in range(2)] == [202, 202]
    r = submit(client, png(), **SMALL)
    assert r.status_code == 429 and r.json()["error"] == "rate_limited" and 55 <= int(r.headers["retry-after"]) <= 60
    assert submit(client, png(), headers=auth(tokens["bob"]), **SMALL).status_code == 202  # per token


def test_no_model_loaded_is_503(make_client: Callable[..., TestClient], png: Callable[..., bytes]) -> None:
    client = make_client(load=False, worker=False)
    r = submit(client, png())
    assert r.status_code == 503 and r.json()["error"] == "no_model_loaded" and "not polled yet" in r.json()["message"]


@pytest.mark.parametrize(
    ("fields", "upload", "status", "error", "message"),
    [
        ({}, ("x.png", b"", "image/png"), 422, "invalid_image", "empty"),
        ({}, ("x.png", b"hello, not a png", "image/png"), 422, "invalid_image", "not a readable PNG/JPEG"),
        ({}, ("x.png", zero_png(1, 500), "image/png"), 422, "invalid_image", "1x500; each side must be at least 16"),
        ({"fps": "0"}, None, 422, "invalid_parameter", "fps=0 is out of range 1..60"),
        ({"motion_bucket_id": "300"}, None, 422, "invalid_parameter", "motion_bucket_id=300"),
        ({"motion_score": "-1"}, None, 422, "invalid_parameter", "motion_score=-1.0 must be a finite number >= 0"),
        ({"motion_score": "2", "motion_bucket_id": "10"}, None, 422, "invalid_parameter",
         "give motion_bucket_id or motion_score, not both"),
        ({"motion_score": "fast"}, None, 422, "invalid_parameter", "motion_score: Input should be a valid number"),
        ({"num_frames": "99"}, None, 422, "invalid_parameter", "num_frames=99 is out of range 2..8"),
        ({"num_inference_steps": "51"}, None, 422, "invalid_parameter", "num_inference_steps=51"),
        ({"height": "60"}, None, 422, "invalid_parameter", "height=60 must be a multiple of 8"),
        ({"width": "2048"}, None, 422, "invalid_parameter", "width=2048 is out of range 16..1024"),
        ({"seed": "abc"}, None, 422, "invalid_parameter", "seed: Input should be a valid integer"),
        ({"return_frames": "maybe"}, None, 422, "invalid_parameter", "return_frames: Input should be a valid boolean"),
    ],
)
def test_invalid_requests_get_clear_4xx(
    make_client: Callable[..., TestClient], png: Callable[..., bytes], fields: dict[str, str],
    upload: tuple[str, bytes, str] | None, status: int, error: str, message: str,
) -> None:
    client = make_client(worker=False)
    r = client.post("/v1/jobs", files={"image": upload or ("in.png", png(), "image/png")}, data=fields)
    assert r.status_code == status, r.text
    assert r.json()["error"] == error and message in r.json()["message"], r.json()
    assert client.app.state.serving.store.depth() == 0  # type: ignore[attr-defined]


def test_missing_image_and_oversize_bodies(make_client: Callable[..., TestClient], png: Callable[..., bytes]) -> None:
    client = make_client({"max_upload_bytes": 2000, "max_request_bytes": 4000}, worker=False)
    r = client.post("/v1/jobs", data={"fps": "7"})
    assert r.status_code == 422 and r.json() == {"error": "invalid_parameter", "message": "image: Field required"}
    r = submit(client, png(size=(30, 30)))
    assert r.status_code == 413 and "limit" in r.json()["message"]
    r = submit(client, png(size=(200, 200)))
    assert r.status_code == 413 and r.json()["message"].startswith("a body of")


def test_a_queued_job_holds_its_image_at_the_jobs_resolution(
    make_client: Callable[..., TestClient], png: Callable[..., bytes]
) -> None:
    import io
    from datetime import UTC, datetime

    from PIL import Image

    client = make_client(worker=False)
    job_id = submit(client, png(size=(400, 300)), **SMALL).json()["job_id"]
    state = client.app.state.serving  # type: ignore[attr-defined]
    claimed = state.store.claim("x", state.watcher.require().stamp, datetime.now(UTC), 30)
    assert claimed.job.job_id == job_id and Image.open(io.BytesIO(claimed.image_png)).size == (48, 32)


def test_hostile_pngs_are_refused_quickly_within_a_memory_bound(
    make_client: Callable[..., TestClient]
) -> None:
    client = make_client(worker=False)
    uploads = {"8000x8000": zero_png(8000, 8000), "bomb": bomb_png()}
    assert all(len(data) < 250_000 for data in uploads.values())  # ~190 KB and ~110 KB
    measured = reset_peak_rss()
    before = peak_rss_mb()
    for name, data in uploads.items():
        started = time.perf_counter()
        r = submit(client, data)
        assert time.perf_counter() - started < 1.0, name
        assert r.status_code == 422 and "pixels; at most" in r.json()["message"], (name, r.text)
    if measured:
        assert peak_rss_mb() - before < REFUSAL_RSS_BOUND_MB
