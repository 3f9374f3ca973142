"""``/v1/jobs`` over real HTTP (TestClient) with the tiny model from a real registry."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from services.registry.store import RegistryStore
from vidforge.dataset import motion_bucket
from vidforge.digest import sha256_tree

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from tests.services.serving.conftest import Artifacts

SMALL = {"num_frames": "3", "height": "32", "width": "48", "num_inference_steps": "2"}


def _submit(client: TestClient, image: bytes, **fields: Any) -> Any:
    return client.post(
        "/v1/jobs", files={"image": ("in.png", image, "image/png")},
        data={k: str(v) for k, v in fields.items()},
    )


def _finish(client: TestClient, job_id: str, wait_for: Callable[..., None]) -> dict[str, Any]:
    wait_for(lambda: client.get(f"/v1/jobs/{job_id}").json()["status"] not in ("queued", "running"),
             what=f"job {job_id}")
    return client.get(f"/v1/jobs/{job_id}").json()


def test_submit_poll_and_download(
    make_client: Callable[..., TestClient], png: Callable[..., bytes], wait_for: Callable[..., None],
    decode_mp4: Callable[[bytes], np.ndarray],
) -> None:
    client = make_client()
    r = _submit(client, png(), seed=11, fps=12, motion_bucket_id=40, **SMALL)
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "queued" and body["model_version"] == 1 and body["job_id"].startswith("job-")

    job = _finish(client, body["job_id"], wait_for)

    assert job["status"] == "succeeded", job
    assert job["params"] == {
        "height": 32, "width": 48, "num_frames": 3, "num_inference_steps": 2, "fps": 12,
        "motion_bucket_id": 40, "noise_aug_strength": 0.02, "min_guidance_scale": 1.0,
        "max_guidance_scale": 3.0, "seed": 11, "motion_score": None,
    }
    assert job["progress"] == {"step": 2, "total_steps": 2} and job["run_s"] > 0
    assert (job["model_name"], job["model_version"], job["error"]) == ("vidforge-i2v", 1, "")
    video = client.get(job["video_url"])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert decode_mp4(video.content).shape == (3, 32, 48, 3)


def test_same_seed_same_video_different_seed_differs(
    make_client: Callable[..., TestClient], png: Callable[..., bytes], wait_for: Callable[..., None],
    decode_mp4: Callable[[bytes], np.ndarray],
) -> None:
    client = make_client()
    ids = [_submit(client, png(), seed=s, **SMALL).json()["job_id"] for s in (5, 5, 6)]
    for job_id in ids:
        assert _finish(client, job_id, wait_for)["status"] == "succeeded"
    a, b, c = (client.get(f"/v1/jobs/{i}/video").content for i in ids)

    assert a == b
    fa, fc = decode_mp4(a).astype(int), decode_mp4(c).astype(int)
    assert fa.shape == fc.shape and np.abs(fa - fc).mean() > 1.0


def test_job_bound_to_model_at_submit_survives_hot_swap(
    make_client: Callable[..., TestClient], registry: RegistryStore, artifacts: Artifacts,
    png: Callable[..., bytes], wait_for: Callable[..., None], decode_mp4: Callable[[bytes], np.ndarray],
) -> None:
    client = make_client(worker=False)  # jobs wait until after the swap
    state = client.app.state.serving  # type: ignore[attr-defined]
    before = _submit(client, png(), seed=9, **SMALL).json()
    registry.create_version("vidforge-i2v", artifact_uri=artifacts.v2.uri, sha256=artifacts.v2.sha256)
    registry.set_alias("vidforge-i2v", "production", 2)
    assert state.watcher.refresh_now().outcome == "loaded"
    after = _submit(client, png(), seed=9, **SMALL).json()
    state.jobs.start()

    done_before, done_after = _finish(client, before["job_id"], wait_for), _finish(client, after["job_id"], wait_for)

    assert (before["model_version"], after["model_version"]) == (1, 2)
    assert (done_before["model_version"], done_after["model_version"]) == (1, 2)
    assert done_before["status"] == done_after["status"] == "succeeded"
    # Same seed and params, but the first job really ran on version 1's weights.
    va = decode_mp4(client.get(f"/v1/jobs/{before['job_id']}/video").content).astype(int)
    vb = decode_mp4(client.get(f"/v1/jobs/{after['job_id']}/video").content).astype(int)
    assert np.abs(va - vb).mean() > 1.0
    assert client.get("/readyz").json()["model_version"] == 2


def test_motion_score_maps_with_the_edges_of_the_model_serving_the_job(
    make_client: Callable[..., TestClient], registry: RegistryStore, artifacts: Artifacts,
    png: Callable[..., bytes], wait_for: Callable[..., None],
) -> None:
    client = make_client(worker=False)
    state = client.app.state.serving  # type: ignore[attr-defined]
    before = _submit(client, png(), seed=3, motion_score=3.0, **SMALL).json()
    registry.create_version("vidforge-i2v", artifact_uri=artifacts.v2.uri, sha256=artifacts.v2.sha256)
    registry.set_alias("vidforge-i2v", "production", 2)
    assert state.watcher.refresh_now().outcome == "loaded"
    after = _submit(client, png(), seed=3, motion_score=3.0, **SMALL).json()
    state.jobs.start()

    done = [_finish(client, j["job_id"], wait_for) for j in (before, after)]

    assert [j["status"] for j in done] == ["succeeded", "succeeded"], done
    buckets = [j["params"]["motion_bucket_id"] for j in done]
    assert buckets == [motion_bucket(3.0, list(artifacts.v1.edges)), motion_bucket(3.0, list(artifacts.v2.edges))]
    assert buckets == [153, 0]  # same score, each model's own dataset quantiles
    assert [j["params"]["motion_score"] for j in done] == [3.0, 3.0]
    assert [j["model_version"] for j in done] == [1, 2]


def test_motion_score_on_a_model_without_edges_is_422(
    make_client: Callable[..., TestClient], registry: RegistryStore, artifacts: Artifacts,
    png: Callable[..., bytes], tmp_path: Path,
) -> None:
    key = f"no-edges/{tmp_path.name}"
    bare = artifacts.store.local_path(key)
    shutil.copytree(artifacts.v1.path, bare)
    meta = json.loads((bare / "vidforge.json").read_text())
    del meta["motion_bucket_edges"]
    (bare / "vidforge.json").write_text(json.dumps(meta))
    registry.create_version("vidforge-i2v", artifact_uri=artifacts.store.uri(key), sha256=sha256_tree(bare))
    registry.set_alias("vidforge-i2v", "production", 2)
    client = make_client(worker=False)

    r = _submit(client, png(), motion_score=1.0, **SMALL)

    assert r.status_code == 422 and r.json()["error"] == "invalid_parameter", r.text
    assert "no motion_bucket_edges" in r.json()["message"] and "send motion_bucket_id" in r.json()["message"]
    ok = _submit(client, png(), motion_bucket_id=30, **SMALL)
    assert ok.status_code == 202 and ok.json()["model_version"] == 2
    job = client.get(f"/v1/jobs/{ok.json()['job_id']}").json()
    assert (job["params"]["motion_bucket_id"], job["params"]["motion_score"]) == (30, None)


def test_openapi_documents_motion_score(make_client: Callable[..., TestClient]) -> None:
    spec = make_client(load=False, worker=False).get("/openapi.json").json()
    form_ref = spec["paths"]["/v1/jobs"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
    form = spec["components"]["schemas"][form_ref.rsplit("/", 1)[1]]["properties"]
    assert "px" in form["motion_score"]["description"] and "Exclusive" in form["motion_bucket_id"]["description"]
    assert "motion_score" in spec["components"]["schemas"]["ParamsPublic"]["properties"]


def test_cancel_queued_job_and_video_states(make_client: Callable[..., TestClient], png: Callable[..., bytes]) -> None:
    client = make_client(worker=False)
    job_id = _submit(client, png(), **SMALL).json()["job_id"]

    r = client.get(f"/v1/jobs/{job_id}/video")
    assert r.status_code == 409 and r.json()["error"] == "job_not_finished" and "queued" in r.json()["message"]
    r = client.delete(f"/v1/jobs/{job_id}")
    assert r.status_code == 202 and r.json()["status"] == "cancelled" and r.json()["cancel_requested"]
    r = client.delete(f"/v1/jobs/{job_id}")
    assert r.status_code == 409 and r.json() == {"error": "job_finished", "message": f"job {job_id} already cancelled"}
    assert client.get(f"/v1/jobs/{job_id}/video").status_code == 409


@pytest.mark.parametrize("method_path", [("get", ""), ("get", "/video"), ("delete", "")])
def test_unknown_job_is_404(make_client: Callable[..., TestClient], method_path: tuple[str, str]) -> None:
    client = make_client(load=False, worker=False)
    method, suffix = method_path
    r = getattr(client, method)(f"/v1/jobs/job-nope{suffix}")
    assert r.status_code == 404 and r.json() == {"error": "job_not_found", "message": "no job 'job-nope'"}


def test_full_queue_is_429(make_client: Callable[..., TestClient], png: Callable[..., bytes]) -> None:
    client = make_client({"max_queue": 1}, worker=False)
    assert _submit(client, png(), **SMALL).status_code == 202
    r = _submit(client, png(), **SMALL)
    assert r.status_code == 429 and r.json()["error"] == "queue_full" and "1 waiting" in r.json()["message"]


def test_no_model_loaded_is_503(make_client: Callable[..., TestClient], png: Callable[..., bytes]) -> None:
    client = make_client(load=False, worker=False)
    r = _submit(client, png())
    assert r.status_code == 503 and r.json()["error"] == "no_model_loaded"
    assert "not polled yet" in r.json()["message"]


@pytest.mark.parametrize(
    ("fields", "upload", "status", "error", "message"),
    [
        ({}, ("x.png", b"", "image/png"), 422, "invalid_image", "empty"),
        ({}, ("x.png", b"hello, not a png", "image/png"), 422, "invalid_image", "not a readable PNG/JPEG"),
        ({"fps": "0"}, None, 422, "invalid_parameter", "fps=0 is out of range 1..60"),
        ({"motion_bucket_id": "300"}, None, 422, "invalid_parameter", "motion_bucket_id=300"),
        ({"motion_score": "-1"}, None, 422, "invalid_parameter", "motion_score=-1.0 must be a finite number >= 0"),
        ({"motion_score": "nan"}, None, 422, "invalid_parameter", "motion_score=nan must be a finite number >= 0"),
        ({"motion_score": "2", "motion_bucket_id": "10"}, None, 422, "invalid_parameter",
         "give motion_bucket_id or motion_score, not both"),
        ({"motion_score": "fast"}, None, 422, "invalid_parameter", "motion_score: Input should be a valid number"),
        ({"num_frames": "99"}, None, 422, "invalid_parameter", "num_frames=99 is out of range 2..8"),
        ({"num_inference_steps": "51"}, None, 422, "invalid_parameter", "num_inference_steps=51"),
        ({"height": "60"}, None, 422, "invalid_parameter", "height=60 must be a multiple of 8"),
        ({"width": "2048"}, None, 422, "invalid_parameter", "width=2048 is out of range 16..1024"),
        ({"seed": "abc"}, None, 422, "invalid_parameter", "seed: Input should be a valid integer"),
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
    assert client.app.state.serving.jobs.depth == 0  # type: ignore[attr-defined]


def test_missing_image_and_oversize_upload(make_client: Callable[..., TestClient], png: Callable[..., bytes]) -> None:
    client = make_client({"max_upload_bytes": 200}, worker=False)
    r = client.post("/v1/jobs", data={"fps": "7"})
    assert r.status_code == 422 and r.json() == {"error": "invalid_parameter", "message": "image: Field required"}
    r = _submit(client, png())
    assert r.status_code == 413 and r.json()["error"] == "payload_too_large"
