"""``/v1/models/current``: the model new jobs start on, its defaults and the service's bounds."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tests.services.serving.conftest import DEFAULTS, EDGES_V1, MODEL, Artifacts

if TYPE_CHECKING:
    from fastapi.testclient import TestClient


def test_current_model(make_client: Callable[..., TestClient], artifacts: Artifacts) -> None:
    client = make_client(worker=False)
    body = client.get("/v1/models/current").json()
    assert (body["name"], body["alias"], body["version"], body["sha256"]) == (
        MODEL, "production", 1, artifacts.v1.sha256)
    assert body["defaults"] == {**DEFAULTS, "motion_bucket_edges": list(EDGES_V1)}
    assert body["limits"]["min_image_side"] == 16 and body["limits"]["max_image_pixels"] == 1024 * 1024
    assert body["limits"]["max_frames"] == 8


def test_no_model_is_503(make_client: Callable[..., TestClient]) -> None:
    r = make_client(load=False, worker=False).get("/v1/models/current")
    assert r.status_code == 503 and r.json()["error"] == "no_model_loaded"
