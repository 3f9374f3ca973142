"""/api/models routes."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_create_list_and_get_models(client: TestClient) -> None:
    created = client.post("/api/models", json={"name": "m", "description": "d"}, headers={"X-Actor": "alice"})
    assert created.status_code == 201
    assert created.json()["name"] == "m"
    client.post("/api/models", json={"name": "a"})
    assert [m["name"] for m in client.get("/api/models").json()] == ["a", "m"]
    got = client.get("/api/models/m").json()
    assert (got["description"], got["aliases"]) == ("d", {})


def test_duplicate_model_is_409(client: TestClient) -> None:
    client.post("/api/models", json={"name": "m"})
    response = client.post("/api/models", json={"name": "m"})
    assert response.status_code == 409
    assert response.json()["error"] == "already_exists"
