"""``/v1/jobs/{id}/video`` and ``/frames``: metadata in the mp4, PNG zip on request, 410 after expiry."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from tests.services.serving.conftest import MODEL, Artifacts, auth
from tests.services.serving.routes.test_jobs import SMALL, finish, submit

if TYPE_CHECKING:
    from fastapi.testclient import TestClient


def test_frames_on_request_match_the_video(
    make_client: Callable[..., TestClient], png: Callable[..., bytes], artifacts: Artifacts,
    decode_mp4: Callable[[bytes], np.ndarray],
) -> None:
    import av
    from PIL import Image

    client = make_client()
    job = finish(client, submit(client, png(), seed=2, return_frames="true", **SMALL).json()["job_id"])
    assert job["status"] == "succeeded" and job["results"]["frames_url"] == f"/v1/jobs/{job['job_id']}/frames"
    r = client.get(job["results"]["frames_url"])
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        frames = np.stack([np.asarray(Image.open(io.BytesIO(zf.read(f"frame_{i:05d}.png")))) for i in range(3)])
        facts = json.loads(zf.read("job.json"))
    video = client.get(job["results"]["video_url"]).content
    assert frames.shape == (3, 32, 48, 3)
    assert np.abs(decode_mp4(video).astype(int) - frames).mean() < 16  # H.264 of noise vs lossless PNGs
    assert (facts["model_name"], facts["model_version"], facts["model_sha256"]) == (MODEL, 1, artifacts.v1.sha256)
    with av.open(io.BytesIO(video)) as c:
        meta = c.metadata
    assert (meta["vidforge_model_name"], meta["vidforge_model_version"], meta["vidforge_model_sha256"]) == (
        MODEL, "1", artifacts.v1.sha256)
    assert meta["vidforge_job_id"] == job["job_id"]


def test_frames_not_requested_and_expired_results(
    make_client: Callable[..., TestClient], png: Callable[..., bytes]
) -> None:
    client = make_client({"result_ttl_s": 0.01})
    job = finish(client, submit(client, png(), **SMALL).json()["job_id"])
    r = client.get(f"/v1/jobs/{job['job_id']}/frames")
    assert r.status_code == 404 and r.json()["error"] == "frames_not_requested"
    client.app.state.serving.maintenance.run_once()  # type: ignore[attr-defined]
    r = client.get(f"/v1/jobs/{job['job_id']}/video")
    assert r.status_code == 410 and r.json()["error"] == "result_expired"
    status = client.get(f"/v1/jobs/{job['job_id']}").json()
    assert status["status"] == "succeeded" and status["results"]["video_url"] is None


def test_downloads_need_the_read_scope(
    make_client: Callable[..., TestClient], png: Callable[..., bytes], tokens: dict[str, str]
) -> None:
    client = make_client(worker=False)
    job_id = submit(client, png(), **SMALL).json()["job_id"]
    r = client.get(f"/v1/jobs/{job_id}/video", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    r = client.get(f"/v1/jobs/{job_id}/video", headers=auth(tokens["reader"]))
    assert r.status_code == 404  # the reader token is another caller: it does not see alice's job
