"""/api/audit route."""

from __future__ import annotations

from fastapi.testclient import TestClient

SHA = "34" * 32


def test_audit_lists_newest_first_with_actor_and_filter(client: TestClient) -> None:
    client.post("/api/models/m/versions", json={"artifact_uri": "x", "sha256": SHA}, headers={"X-Actor": "ci"})
    client.put("/api/models/m/aliases/production", json={"version": 1}, headers={"X-Actor": "ops"})
    client.post("/api/models", json={"name": "other"})
    events = client.get("/api/audit", params={"name": "m"}).json()
    assert [(e["action"], e["actor"]) for e in events] == [
        ("set_alias", "ops"),
        ("create_version", "ci"),
        ("create_model", "ci"),
    ]
    everything = client.get("/api/audit", params={"limit": 1}).json()
    assert [(e["name"], e["actor"]) for e in everything] == [("other", "api")]
    assert client.get("/api/audit", params={"limit": 0}).status_code == 422
