"""Identity from the bearer token only; scopes per route; a request rate per token."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tests.services.serving.conftest import auth
from tests.services.serving.routes.test_jobs import SMALL, submit

if TYPE_CHECKING:
    from fastapi.testclient import TestClient


def test_scopes_are_enforced(make_client: Callable[..., TestClient], tokens: dict[str, str],
                             png: Callable[..., bytes]) -> None:
    client = make_client(worker=False, token=None)
    r = submit(client, png(), headers=auth(tokens["reader"]), **SMALL)
    assert r.status_code == 403 and r.json()["message"] == (
        "this request needs the 'jobs:submit' scope; token 'reader' has jobs:read")
    assert client.get("/v1/jobs", headers=auth(tokens["reader"])).status_code == 200
    assert submit(client, png(), headers=auth(tokens["root"]), **SMALL).status_code == 202  # admin holds all


def test_malformed_unknown_and_revoked_tokens_are_401(
    make_client: Callable[..., TestClient], tokens: dict[str, str]
) -> None:
    client = make_client(worker=False, token=None)
    for header in ("Basic abc", "Bearer", "Bearer " + "x" * 300, "Bearer vf_unknown"):
        r = client.get("/v1/jobs", headers={"Authorization": header})
        assert r.status_code == 401, header
    client.app.state.serving.store.revoke_token("bob")  # type: ignore[attr-defined]
    assert client.get("/v1/jobs", headers=auth(tokens["bob"])).json()["message"] == "unknown or revoked token"


def test_request_rate_per_token(make_client: Callable[..., TestClient], tokens: dict[str, str]) -> None:
    client = make_client({"request_rate_per_min": 6, "request_burst": 3}, worker=False)
    assert [client.get("/v1/jobs").status_code for _ in range(3)] == [200, 200, 200]
    r = client.get("/v1/jobs")
    assert r.status_code == 429 and r.json()["error"] == "rate_limited" and r.headers["retry-after"] == "10"
    assert client.get("/v1/jobs", headers=auth(tokens["bob"])).status_code == 200
    assert client.get("/healthz").status_code == 200  # open routes are not counted


def test_unknown_query_parameters_are_named(make_client: Callable[..., TestClient]) -> None:
    client = make_client(worker=False)
    r = client.get("/v1/jobs", params={"state": "queued", "limit": 5})
    assert r.status_code == 422 and r.json() == {
        "error": "unknown_parameter", "message": "unknown query parameter 'state'; known: status, limit, cursor"}
    assert client.get("/v1/jobs", params={"status": "queued", "limit": 5}).status_code == 200
    assert client.get("/v1/jobs/job-x", params={"timeout": 3}).json()["error"] == "unknown_parameter"
