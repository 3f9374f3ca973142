"""/api/models/{name}/versions/{version}/approvals routes."""

from __future__ import annotations

from fastapi.testclient import TestClient

SHA = "12" * 32
URL = "/api/models/m/versions/1/approvals"


def test_approvals_are_recorded_and_listed(client: TestClient) -> None:
    client.post("/api/models/m/versions", json={"artifact_uri": "x", "sha256": SHA})
    made = client.post(URL, json={"approver": "alice", "decision": "approved", "comment": "ok"})
    assert made.status_code == 201
    assert made.json()["decision"] == "approved"
    client.post(URL, json={"approver": "bob", "decision": "rejected"})
    assert [(a["approver"], a["decision"]) for a in client.get(URL).json()] == [
        ("alice", "approved"),
        ("bob", "rejected"),
    ]


def test_bad_approvals_are_rejected(client: TestClient) -> None:
    client.post("/api/models/m/versions", json={"artifact_uri": "x", "sha256": SHA})
    bad = client.post(URL, json={"approver": "alice", "decision": "maybe"})
    assert (bad.status_code, bad.json()["error"]) == (422, "invalid_input")
    assert (
        client.post("/api/models/m/versions/3/approvals", json={"approver": "a", "decision": "approved"}).status_code
        == 404
    )
    assert client.get(URL).json() == []
