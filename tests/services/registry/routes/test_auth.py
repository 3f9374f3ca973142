"""Every route but /healthz needs a token; the identity in records is the token's name."""

from __future__ import annotations

from fastapi.testclient import TestClient

from vidforge.settings import Settings

SHA = "cd" * 32


def test_every_api_route_needs_a_token(client: TestClient) -> None:
    for route in client.app.routes:  # type: ignore[attr-defined]
        path = getattr(route, "path", "")
        if not path.startswith("/api"):
            continue
        concrete = path.replace("{name}", "m").replace("{version}", "1").replace("{alias}", "a") \
            .replace("{key}", "k").replace("{token_name}", "t").replace("{webhook_id}", "1")
        for method in route.methods - {"HEAD", "OPTIONS"}:  # type: ignore[attr-defined]
            response = client.request(method, concrete)
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.json()["error"] == "unauthenticated"
            assert response.headers["www-authenticate"] == "Bearer"
    assert client.get("/healthz").status_code == 200


def test_bad_credentials_are_401_and_low_roles_403(client: TestClient, as_role: dict[str, dict[str, str]]) -> None:
    for header in ("Bearer", "Bearer vf_nope", "Basic dXNlcjpwdw==", "Bearer " + "x" * 300):
        assert client.get("/api/models", headers={"Authorization": header}).status_code == 401
    viewer = client.post("/api/models", json={"name": "m"}, headers=as_role["viewer"])
    assert (viewer.status_code, viewer.json()["error"]) == (403, "forbidden")
    assert "operator" in viewer.json()["message"]
    assert client.get("/api/tokens", headers=as_role["operator"]).status_code == 403


def test_the_actor_comes_from_the_token_not_a_header(client: TestClient, as_role: dict[str, dict[str, str]]) -> None:
    headers = {**as_role["operator"], "X-Actor": "somebody-else"}
    created = client.post("/api/models/m/versions", json={"artifact_uri": "s3://b/1", "sha256": SHA}, headers=headers)
    assert created.json()["created_by"] == "operator"
    audit = client.get("/api/audit", headers=as_role["viewer"]).json()
    assert {e["actor"] for e in audit if e["name"] == "m"} == {"operator"}


def test_tokens_are_created_listed_and_revoked_by_admins(
    client: TestClient, as_role: dict[str, dict[str, str]], settings: Settings
) -> None:
    made = client.post("/api/tokens", json={"name": "ci", "role": "operator"}, headers=as_role["admin"])
    assert made.status_code == 201 and made.json()["token"].startswith("vf_")
    new = {"Authorization": f"Bearer {made.json()['token']}"}
    assert client.get("/api/models", headers=new).status_code == 200
    listed = client.get("/api/tokens", headers=as_role["admin"]).json()
    assert "token" not in listed[0] and {t["name"] for t in listed} >= {"ci", "admin"}
    assert client.delete("/api/tokens/ci", headers=as_role["admin"]).json()["revoked_at"] is not None
    assert client.get("/api/models", headers=new).status_code == 401
    again = client.post("/api/tokens", json={"name": "ci", "role": "viewer"}, headers=as_role["admin"])
    assert (again.status_code, again.json()["error"]) == (409, "already_exists")
    bad = client.post("/api/tokens", json={"name": "x", "role": "root"}, headers=as_role["admin"])
    assert bad.status_code == 422


def test_unknown_routes_and_methods_answer_in_the_error_shape(
    client: TestClient, as_role: dict[str, dict[str, str]]
) -> None:
    missing = client.get("/api/nothing-here", headers=as_role["viewer"])
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
    wrong = client.request("PATCH", "/api/tokens", headers=as_role["admin"])
    assert (wrong.status_code, wrong.json()["error"]) == (405, "method_not_allowed")


def test_audit_verify_over_http(client: TestClient, as_role: dict[str, dict[str, str]]) -> None:
    client.post("/api/models", json={"name": "m"}, headers=as_role["operator"])
    report = client.get("/api/audit/verify", headers=as_role["viewer"]).json()
    assert report["ok"] and report["checked"] == report["head_id"] >= 6  # 5 tokens + the model
