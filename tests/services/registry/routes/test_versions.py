"""/api/models/{name}/versions routes."""

from __future__ import annotations

from fastapi.testclient import TestClient

SHA = "cd" * 32


def _create(client: TestClient, **extra: object) -> dict[str, object]:
    body = {"artifact_uri": "s3://b/run/final", "sha256": SHA, "metrics": {"fvd": 10.5}, **extra}
    response = client.post("/api/models/m/versions", json=body, headers={"X-Actor": "ci"})
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


def test_versions_are_created_listed_and_fetched(client: TestClient) -> None:
    first = _create(client, run_id="r1")
    assert (first["version"], first["created_by"], first["metrics"]) == (1, "ci", {"fvd": 10.5})
    _create(client, parent_version=1)
    assert [v["version"] for v in client.get("/api/models/m/versions").json()] == [1, 2]
    assert client.get("/api/models/m/versions/1").json()["run_id"] == "r1"
    assert [v["version"] for v in client.get("/api/models/m/versions/2/lineage").json()] == [2, 1]


def test_bad_versions_are_rejected(client: TestClient) -> None:
    bad_sha = client.post("/api/models/m/versions", json={"artifact_uri": "x", "sha256": "zz"})
    assert (bad_sha.status_code, bad_sha.json()["error"]) == (422, "invalid_input")
    no_parent = client.post("/api/models/m/versions", json={"artifact_uri": "x", "sha256": SHA, "parent_version": 4})
    assert (no_parent.status_code, no_parent.json()["error"]) == (404, "not_found")
    assert client.get("/api/models/m/versions/abc").status_code == 422
    assert client.get("/api/models/m/versions/7").status_code == 404
