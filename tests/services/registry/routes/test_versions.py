"""/api/models/{name}/versions: register (idempotent per run), read, tag; roles and limits."""

from __future__ import annotations

from fastapi.testclient import TestClient

SHA = "cd" * 32


def _create(client: TestClient, headers: dict[str, str], **extra: object) -> dict[str, object]:
    body = {"artifact_uri": "s3://b/run/final", "sha256": SHA, "metrics": {"fvd": 10.5}, **extra}
    response = client.post("/api/models/m/versions", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


def test_versions_are_created_listed_and_fetched(client: TestClient, as_role: dict[str, dict[str, str]]) -> None:
    first = _create(client, as_role["operator"], run_id="r1", dag_run_id="scheduled__1", gate_passed=True)
    assert (first["version"], first["created_by"], first["metrics"]) == (1, "operator", {"fvd": 10.5})
    again = client.post("/api/models/m/versions", headers=as_role["operator"],
                        json={"artifact_uri": "s3://b/run/final", "sha256": SHA, "run_id": "r1"})
    assert (again.status_code, again.json()["version"]) == (200, 1)  # the same run: the same version
    _create(client, as_role["operator"], parent_version=1)
    viewer = as_role["viewer"]
    assert [v["version"] for v in client.get("/api/models/m/versions", headers=viewer).json()] == [1, 2]
    one = client.get("/api/models/m/versions/1", headers=viewer).json()
    assert (one["run_id"], one["dag_run_id"], one["gate_passed"]) == ("r1", "scheduled__1", True)
    assert [v["version"] for v in client.get("/api/models/m/versions/2/lineage", headers=viewer).json()] == [2, 1]
    tagged = client.put("/api/models/m/versions/1/tags/team", json={"value": "video"}, headers=as_role["operator"])
    assert tagged.json()["tags"] == {"team": "video"}
    assert client.delete("/api/models/m/versions/1/tags/team", headers=as_role["operator"]).status_code == 204
    blockers = client.get("/api/models/m/versions/1/promotion-blockers", headers=viewer).json()
    assert blockers == ["no approval by an identity other than its registrant 'operator'"]


def test_bad_versions_are_rejected(client: TestClient, as_role: dict[str, dict[str, str]]) -> None:
    ops = as_role["operator"]
    cases = [
        ({"artifact_uri": "s3://b/x", "sha256": "zz"}, 422, "sha256"),
        ({"artifact_uri": "s3://b/x", "sha256": SHA, "parent_version": 4}, 404, "no version 4"),
        ({"artifact_uri": "s3://b/x", "sha256": SHA, "parent_version": True}, 422, "parent_version"),
        ({"artifact_uri": "s3://b/x", "sha256": SHA, "parent_version": "1"}, 422, "parent_version"),
        ({"artifact_uri": "s3://b/x", "sha256": SHA, "parent_version": 2**31}, 422, "parent_version"),
        ({"artifact_uri": "s3://b/x", "sha256": SHA, "surprise": 1}, 422, "surprise"),
        ({"artifact_uri": "s3://b/x", "sha256": SHA, "description": "x" * 10_001}, 422, "description"),
        ({"artifact_uri": "runs/r1/final", "sha256": SHA}, 422, "relative path"),
        ({"artifact_uri": "s3://b/../../etc", "sha256": SHA}, 422, "'..'"),
        ({"artifact_uri": "s3://b/%2e%2e/x", "sha256": SHA}, 422, "'..'"),
        ({"artifact_uri": "file:///etc/passwd", "sha256": SHA}, 422, "outside the allowed locations"),
        ({"artifact_uri": "http://169.254.169.254/latest", "sha256": SHA}, 422, "scheme 'http'"),
        ({"artifact_uri": "s3://other-bucket/x", "sha256": SHA}, 422, "outside the allowed"),
        ({"artifact_uri": "s3://b/x", "sha256": SHA, "report_uri": "s3://evil/r.html"}, 422, "report_uri"),
        ({"artifact_uri": "s3://b/" + "x" * 3000, "sha256": SHA}, 422, "artifact_uri"),
    ]
    for body, status, needle in cases:
        response = client.post("/api/models/m/versions", json=body, headers=ops)
        assert response.status_code == status, body
        assert response.json()["error"] in ("invalid_input", "not_found")
        assert needle in response.text, (needle, response.text)
    assert client.get("/api/models/m/versions/abc", headers=ops).status_code == 422
    assert client.get("/api/models/m/versions/0", headers=ops).status_code == 422
