"""The stakeholder pages: token login, session identity, CSRF-checked forms, stored reports, the audit page."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from services.registry.db import normalise_url
from vidforge.settings import Settings
from vidforge.store import open_store

SHA = "ab" * 32
VERSION_PAGE = "/models/m/versions/1"
Headers = dict[str, dict[str, str]]


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no csrf field on the page"
    return found.group(1)


def login(client: TestClient, token: str, next_path: str = "/") -> httpx.Response:
    """Sign in through the login form (GET for its CSRF token, then POST); the response is not followed."""
    form = client.get("/login", params={"next": next_path})
    data = {"token": token, "csrf": csrf_of(form.text), "next": next_path}
    return client.post("/login", data=data, follow_redirects=False)


def register(client: TestClient, headers: dict[str, str], name: str = "m", **fields: Any) -> int:
    """Register a version through the API; its number."""
    body = {"artifact_uri": "s3://b/x", "sha256": SHA, **fields}
    made = client.post(f"/api/models/{name}/versions", json=body, headers=headers)
    assert made.status_code == 201, made.text
    return int(made.json()["version"])


def post_form(client: TestClient, path: str, **fields: str) -> httpx.Response:
    """Submit a form on ``path``'s page the way a browser does: with the page's CSRF token; not followed."""
    page = client.get(path.rsplit("/", 1)[0])
    return client.post(path, data={"csrf": csrf_of(page.text), **fields}, follow_redirects=False)


def sql(db_url: str, statement: str, **params: Any) -> None:
    """Run one statement straight on the registry database (as someone bypassing the registry would)."""
    engine = sa.create_engine(normalise_url(db_url))
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(statement), params)
    finally:
        engine.dispose()


# ---- signing in -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/models/m", VERSION_PAGE, f"{VERSION_PAGE}/report", "/audit?limit=5"])
def test_logged_out_pages_redirect_to_login(client: TestClient, path: str) -> None:
    page = client.get(path, follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == ("/login" if path == "/" else f"/login?next={quote(path, safe='/')}")
    form = client.get(page.headers["location"])
    assert form.status_code == 200
    assert f'name="next" value="{path.replace("&", "&amp;")}"' in form.text


def test_healthz_and_login_need_no_session(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert "API token" in client.get("/login").text


def test_bad_token_shows_the_form_again_with_401(client: TestClient, tokens: dict[str, str]) -> None:
    refused = login(client, "vf_not-a-real-token")
    assert refused.status_code == 401
    assert "unknown or has been revoked" in refused.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_login_then_logout(client: TestClient, tokens: dict[str, str]) -> None:
    done = login(client, tokens["viewer"], "/audit")
    assert (done.status_code, done.headers["location"]) == (303, "/audit")
    home = client.get("/")
    assert "signed in as <strong>viewer</strong> (viewer)" in home.text
    assert client.post("/logout", data={}, follow_redirects=False).status_code == 403
    out = client.post("/logout", data={"csrf": csrf_of(home.text)}, follow_redirects=False)
    assert (out.status_code, out.headers["location"]) == (303, "/login")
    assert client.get("/", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("target", [
    "https://evil.example/x", "//evil.example/x", "/\\evil.example", "/\t/evil.example", "javascript:alert(1)",
    "evil.example", "",
])
def test_login_never_redirects_off_site(client: TestClient, tokens: dict[str, str], target: str) -> None:
    assert 'name="next" value="/"' in client.get("/login", params={"next": target}).text
    done = login(client, tokens["viewer"], target)
    assert (done.status_code, done.headers["location"]) == (303, "/")


def test_login_keeps_a_local_next_with_its_query(client: TestClient, tokens: dict[str, str]) -> None:
    assert login(client, tokens["viewer"], "/audit?limit=5").headers["location"] == "/audit?limit=5"


def test_login_without_csrf_is_refused(client: TestClient, tokens: dict[str, str]) -> None:
    refused = client.post("/login", data={"token": tokens["admin"]}, follow_redirects=False)
    assert refused.status_code == 403
    assert "security token" in refused.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_revoked_token_ends_the_session(client: TestClient, tokens: dict[str, str], as_role: Headers) -> None:
    login(client, tokens["viewer"])
    assert client.get("/", follow_redirects=False).status_code == 200
    assert client.delete("/api/tokens/viewer", headers=as_role["admin"]).status_code == 200
    assert client.get("/", follow_redirects=False).status_code == 303


# ---- reading ----------------------------------------------------------------------------


def test_pages_render_and_escape(client: TestClient, tokens: dict[str, str], as_role: Headers) -> None:
    evil = "<script>alert('x')</script>"
    client.post("/api/models", json={"name": "m", "description": evil}, headers=as_role["operator"])
    check = {"rule": evil, "passed": False, "metric": "fvd", "value": 130.0, "limit": 120.0}
    register(client, as_role["operator"], metrics={"fvd": 123.25, "<b>m</b>": 1.0}, description=evil,
             gate_passed=False, gate_checks=[check], dataset_version="ds-7", run_id="run-42")
    login(client, tokens["viewer"])
    for path in ("/", "/models/m", VERSION_PAGE, "/audit"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert page.headers["content-type"].startswith("text/html")
        assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none': no scripts
        assert "<script>" not in page.text and "&lt;script&gt;" in page.text, path
    listing = client.get("/").text
    assert all(s in listing for s in ("m</strong>", "1</td>", "v1"))
    version = client.get(VERSION_PAGE).text
    for needle in ("123.2", "&lt;b&gt;m&lt;/b&gt;", "ds-7", "run-42", "gate failed", "130", "120",
                   "no approval by an identity other than its registrant"):
        assert needle in version
    assert "Approve v1" not in version  # a viewer gets no review forms


def test_unknown_model_or_version_is_a_404_page(client: TestClient, tokens: dict[str, str], as_role: Headers) -> None:
    login(client, tokens["viewer"])
    assert client.get("/models/nope").status_code == 404
    register(client, as_role["operator"])
    missing = client.get("/models/m/versions/9")
    assert missing.status_code == 404
    assert "no version 9" in missing.text


def test_audit_page_shows_the_chain_intact_then_broken(
    client: TestClient, tokens: dict[str, str], as_role: Headers, db_url: str
) -> None:
    register(client, as_role["operator"])
    login(client, tokens["viewer"])
    page = client.get("/audit").text
    assert re.search(r"chain intact: \d+ records, head [0-9a-f]{12}", page)
    assert "create_version" in page
    sql(db_url, "UPDATE audit_events SET actor = 'mallory' WHERE id = 1")
    broken = client.get("/audit").text
    assert "BROKEN at record 1: its content does not match its hash" in broken
    assert "mallory" in broken


def test_audit_page_pages_to_older_records(client: TestClient, tokens: dict[str, str], as_role: Headers) -> None:
    for _ in range(3):
        register(client, as_role["operator"])
    login(client, tokens["viewer"])
    newest = client.get("/audit", params={"limit": 2}).text
    older = re.search(r'href="/audit\?before_id=(\d+)&amp;limit=2"', newest)
    assert older, "no link to older records"
    page = client.get("/audit", params={"limit": 2, "before_id": older.group(1)}).text
    shown = [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', page)]
    assert shown == [int(older.group(1)) - 1, int(older.group(1)) - 2]


# ---- forms ------------------------------------------------------------------------------


def approvals(client: TestClient, headers: dict[str, str]) -> list[tuple[str, str]]:
    """(approver, decision) of m v1, from the API."""
    listed = client.get(f"/api/{VERSION_PAGE.lstrip('/')}/approvals", headers=headers).json()
    return [(a["approver"], a["decision"]) for a in listed]


def test_forms_without_the_session_csrf_token_are_refused(
    client: TestClient, tokens: dict[str, str], as_role: Headers
) -> None:
    register(client, as_role["operator"])
    login(client, tokens["approver2"])
    for data in ({"decision": "approved"}, {"decision": "approved", "csrf": "forged"}):
        refused = client.post(f"{VERSION_PAGE}/review", data=data, follow_redirects=False)
        assert refused.status_code == 403
        assert "security token" in refused.text
    refused = client.post(f"{VERSION_PAGE}/promote", data={"alias": "production"}, follow_redirects=False)
    assert refused.status_code == 403
    assert approvals(client, as_role["viewer"]) == []


def test_an_approver_approves_an_operators_version(
    client: TestClient, tokens: dict[str, str], as_role: Headers
) -> None:
    register(client, as_role["operator"])
    login(client, tokens["approver2"])
    # the reviewer is the session's principal: a name in the form is ignored
    done = post_form(client, f"{VERSION_PAGE}/review", decision="approved", comment="looks good", approver="admin")
    assert (done.status_code, done.headers["location"]) == (303, VERSION_PAGE)
    page = client.get(VERSION_PAGE).text
    assert "Recorded: approver2 approved m v1." in page
    assert "looks good" in page
    assert approvals(client, as_role["viewer"]) == [("approver2", "approved")]
    assert "approver2" in client.get("/models/m").text


def test_four_eyes_violation_is_shown_on_the_page(
    client: TestClient, tokens: dict[str, str], as_role: Headers
) -> None:
    register(client, as_role["approver"])
    login(client, tokens["approver"])
    done = post_form(client, f"{VERSION_PAGE}/review", decision="approved")
    assert done.status_code == 303
    page = client.get(VERSION_PAGE)
    assert page.status_code == 200
    assert "Review not recorded: four eyes: &#39;approver&#39; registered m v1 and cannot review it" in page.text
    assert approvals(client, as_role["viewer"]) == []


def test_a_rejection_needs_a_reason(client: TestClient, tokens: dict[str, str], as_role: Headers) -> None:
    register(client, as_role["operator"])
    login(client, tokens["approver2"])
    post_form(client, f"{VERSION_PAGE}/review", decision="rejected", comment="  ")
    assert "Review not recorded:" in client.get(VERSION_PAGE).text
    post_form(client, f"{VERSION_PAGE}/review", decision="rejected", comment="FVD regressed")
    assert approvals(client, as_role["viewer"]) == [("approver2", "rejected")]
    assert "its latest review is a rejection by &#39;approver2&#39; (FVD regressed)" in client.get(VERSION_PAGE).text


def production(client: TestClient, headers: dict[str, str]) -> int | None:
    """The version behind m:production, from the API (None when unset)."""
    got = client.get("/api/models/m/aliases/production", headers=headers)
    return int(got.json()["version"]) if got.status_code == 200 else None


def test_promote_moves_production_only_when_promotable(
    client: TestClient, tokens: dict[str, str], as_role: Headers
) -> None:
    register(client, as_role["operator"], gate_passed=True, metrics={"fvd": 100.0})
    login(client, tokens["approver2"])
    post_form(client, f"{VERSION_PAGE}/promote", alias="production", expected_version="")
    page = client.get(VERSION_PAGE).text
    assert "Not promoted: m v1 cannot move to protected alias &#39;production&#39;: no approval" in page
    assert production(client, as_role["viewer"]) is None

    post_form(client, f"{VERSION_PAGE}/review", decision="approved")
    assert 'name="expected_version" value=""' in client.get(VERSION_PAGE).text
    post_form(client, f"{VERSION_PAGE}/promote", alias="production", expected_version="")
    assert "m:production now points at v1." in client.get(VERSION_PAGE).text
    assert production(client, as_role["viewer"]) == 1
    row = re.search(r'<tr id="v1">.*?</tr>', client.get("/models/m").text, re.S)
    assert row and "production" in row.group(0)

    register(client, as_role["operator"], gate_passed=False, metrics={"fvd": 90.0})
    client.post("/api/models/m/versions/2/approvals", json={"decision": "approved"}, headers=as_role["approver"])
    v2 = client.get("/models/m/versions/2").text
    assert "champion v1" in v2 and "+10" not in v2 and "-10" in v2  # fvd beside the champion's, with the delta
    assert 'name="expected_version" value="1"' in v2
    post_form(client, "/models/m/versions/2/promote", alias="production", expected_version="1")
    assert "its evaluation gate failed" in client.get("/models/m/versions/2").text
    assert production(client, as_role["viewer"]) == 1


def test_a_stale_promote_form_loses_the_compare_and_set(
    client: TestClient, tokens: dict[str, str], as_role: Headers
) -> None:
    for _ in range(2):
        register(client, as_role["operator"], gate_passed=True)
        version = production(client, as_role["viewer"])
        latest = 1 if version is None else 2
        client.post(f"/api/models/m/versions/{latest}/approvals", json={"decision": "approved"},
                    headers=as_role["approver"])
    client.put("/api/models/m/aliases/production", json={"version": 1, "expected_version": None},
               headers=as_role["approver"])
    login(client, tokens["approver2"])
    post_form(client, "/models/m/versions/2/promote", alias="production", expected_version="")  # page showed unset
    assert "points at v1, the request expected unset" in client.get("/models/m/versions/2").text
    post_form(client, "/models/m/versions/2/promote", alias="production", expected_version="x")
    assert "expected_version must be a version number" in client.get("/models/m/versions/2").text
    assert production(client, as_role["viewer"]) == 1


def test_a_viewer_cannot_act_through_the_forms(client: TestClient, tokens: dict[str, str], as_role: Headers) -> None:
    register(client, as_role["operator"], gate_passed=True)
    login(client, tokens["viewer"])
    post_form(client, f"{VERSION_PAGE}/review", decision="approved")
    assert "needs the approver role" in client.get(VERSION_PAGE).text
    assert approvals(client, as_role["viewer"]) == []


def test_forms_when_logged_out_go_to_login_and_back(client: TestClient, as_role: Headers) -> None:
    register(client, as_role["operator"])
    posted = client.post(f"{VERSION_PAGE}/review", data={"decision": "approved"}, follow_redirects=False)
    assert (posted.status_code, posted.headers["location"]) == (303, f"/login?next={VERSION_PAGE}")


# ---- stored HTML ------------------------------------------------------------------------


def test_report_is_served_from_an_allowed_location_only(
    client: TestClient, tokens: dict[str, str], as_role: Headers, settings: Settings, db_url: str
) -> None:
    store = open_store(settings.store)
    report_uri = store.put_bytes("reports/m/1/report.html", b"<h1>Evaluation of m v1</h1><p>FVD 123</p>")
    register(client, as_role["operator"], report_uri=report_uri)
    register(client, as_role["operator"])
    login(client, tokens["viewer"])
    page = client.get(VERSION_PAGE).text
    assert f'<iframe class="report" src="{VERSION_PAGE}/report"' in page

    served = client.get(f"{VERSION_PAGE}/report")
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("text/html")
    assert "Evaluation of m v1" in served.text
    csp = served.headers["content-security-policy"]
    assert "sandbox" in csp and "default-src 'none'" in csp and "frame-ancestors 'self'" in csp

    none = client.get("/models/m/versions/2/report")
    assert (none.status_code, none.json()["error"]) == (404, "not_found")

    sql(db_url, "UPDATE model_versions SET report_uri = :uri WHERE version = 1", uri="file:///etc/passwd")
    refused = client.get(f"{VERSION_PAGE}/report")
    assert (refused.status_code, refused.json()["error"]) == (403, "forbidden")
    assert "outside the allowed locations" in refused.json()["message"]

    sql(db_url, "UPDATE model_versions SET report_uri = :uri WHERE version = 1", uri=store.uri("reports/gone.html"))
    assert client.get(f"{VERSION_PAGE}/report").status_code == 404


def test_datacard_is_served_next_to_the_dataset(
    client: TestClient, tokens: dict[str, str], as_role: Headers, settings: Settings
) -> None:
    store = open_store(settings.store)
    store.put_bytes("datasets/demo/v3/datacard.html", b"<h1>Data card demo v3</h1>")
    register(client, as_role["operator"], dataset_uri=store.uri("datasets/demo/v3"), dataset_version="demo-v3")
    login(client, tokens["viewer"])
    assert f'href="{VERSION_PAGE}/datacard"' in client.get(VERSION_PAGE).text
    card = client.get(f"{VERSION_PAGE}/datacard")
    assert card.status_code == 200
    assert "Data card demo v3" in card.text
    assert "sandbox" in card.headers["content-security-policy"]
