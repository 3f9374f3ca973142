"""/api/models/{name}/aliases routes."""

from __future__ import annotations

from fastapi.testclient import TestClient

SHA = "ef" * 32


def test_alias_moves_between_versions(client: TestClient) -> None:
    for _ in range(2):
        client.post("/api/models/m/versions", json={"artifact_uri": "x", "sha256": SHA})
    assert client.put("/api/models/m/aliases/production", json={"version": 1}).json()["aliases"] == ["production"]
    moved = client.put("/api/models/m/aliases/production", json={"version": 2}, headers={"X-Actor": "ops"})
    assert (moved.status_code, moved.json()["version"]) == (200, 2)
    assert client.get("/api/models/m/aliases/production").json()["version"] == 2
    assert client.get("/api/models/m/versions/1").json()["aliases"] == []
    assert client.get("/api/models/m").json()["aliases"] == {"production": 2}


def test_alias_errors_and_delete(client: TestClient) -> None:
    client.post("/api/models/m/versions", json={"artifact_uri": "x", "sha256": SHA})
    assert client.put("/api/models/m/aliases/production", json={"version": 5}).status_code == 404
    assert client.put("/api/models/m/aliases/bad alias", json={"version": 1}).status_code == 422
    client.put("/api/models/m/aliases/production", json={"version": 1})
    assert client.delete("/api/models/m/aliases/production").status_code == 204
    missing = client.get("/api/models/m/aliases/production")
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
    assert client.delete("/api/models/m/aliases/production").status_code == 404
