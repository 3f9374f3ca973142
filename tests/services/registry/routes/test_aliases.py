"""/api/models/{name}/aliases: CAS moves, protected aliases, rollback, and the downstream resolve."""

from __future__ import annotations

from fastapi.testclient import TestClient

SHA = "cd" * 32


def _register(client: TestClient, headers: dict[str, str], gate: bool = True) -> int:
    body = {"artifact_uri": "s3://b/m", "sha256": SHA, "gate_passed": gate}
    response = client.post("/api/models/m/versions", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return int(response.json()["version"])


def test_promotion_over_http_follows_every_rule(client: TestClient, as_role: dict[str, dict[str, str]]) -> None:
    ops, alice, bob = as_role["operator"], as_role["approver"], as_role["approver2"]
    _register(client, ops)
    url = "/api/models/m/aliases/production"
    refused = client.put(url, json={"version": 1, "expected_version": None}, headers=ops)
    assert (refused.status_code, refused.json()["error"]) == (403, "forbidden")
    missing = client.put(url, json={"version": 1, "expected_version": None}, headers=alice)
    assert (missing.status_code, missing.json()["error"]) == (409, "rule_violation")
    assert "no approval by an identity other than its registrant 'operator'" in missing.json()["message"]
    no_reason = client.post("/api/models/m/versions/1/approvals", json={"decision": "rejected"}, headers=bob)
    assert (no_reason.status_code, no_reason.json()["error"]) == (422, "invalid_input")
    approved = client.post("/api/models/m/versions/1/approvals", json={"decision": "approved"}, headers=bob)
    assert (approved.status_code, approved.json()["approver"]) == (201, "approver2")
    moved = client.put(url, json={"version": 1, "expected_version": None}, headers=alice)
    assert moved.status_code == 200 and moved.json()["aliases"] == ["production"]
    stale = client.put(url, json={"version": 1, "expected_version": None}, headers=alice)
    assert (stale.status_code, stale.json()["error"]) == (409, "alias_conflict")
    target = client.get(url, headers=as_role["viewer"]).json()
    assert target == {"name": "m", "alias": "production", "version": 1, "artifact_uri": "s3://b/m", "sha256": SHA}
    _register(client, ops)
    client.post("/api/models/m/versions/2/approvals", json={"decision": "approved"}, headers=bob)
    assert client.put(url, json={"version": 2, "expected_version": 1}, headers=alice).status_code == 200
    back = client.post(f"{url}/rollback", json={"version": 1, "expected_version": 2, "reason": "v2 flickers"},
                       headers=alice)
    assert back.status_code == 200 and back.json()["version"] == 1
    audit = client.get("/api/audit", params={"name": "m", "limit": 1}, headers=as_role["viewer"]).json()[0]
    assert (audit["action"], audit["actor"], audit["details"]["reason"]) == ("rollback", "approver", "v2 flickers")
    gone = client.request("DELETE", url, json={"expected_version": 1}, headers=alice)
    assert gone.status_code == 204


def test_four_eyes_over_http(client: TestClient, as_role: dict[str, dict[str, str]]) -> None:
    _register(client, as_role["approver"])  # an approver may register too, but never review it
    own = client.post("/api/models/m/versions/1/approvals", json={"decision": "approved"}, headers=as_role["approver"])
    assert (own.status_code, own.json()["error"]) == (409, "rule_violation")
    assert "four eyes" in own.json()["message"]
