"""The pages' session helpers: local-only redirects, CSRF comparison, flash messages.

The login flow, CSRF refusals and session identity end to end are in
``tests/services/registry/routes/test_pages.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request

from services.registry.pages_auth import (
    MAX_FLASH_CHARS,
    SESSION_CSRF,
    SESSION_FLASH,
    SESSION_TOKEN,
    csrf_ok,
    csrf_token,
    flash,
    login_url,
    safe_next,
    start_session,
)


def request_with(session: dict[str, Any]) -> Request:
    """A bare request whose session is ``session`` (what SessionMiddleware would provide)."""
    return Request({"type": "http", "method": "GET", "path": "/", "headers": [], "session": session})


@pytest.mark.parametrize("value", ["/", "/models/m", "/models/m/versions/2", "/audit?limit=5&before_id=9"])
def test_local_paths_are_kept(value: str) -> None:
    assert safe_next(value) == value


@pytest.mark.parametrize("value", [
    None, "", "models/m", "https://evil.example/", "//evil.example/", "/\\evil.example", "/a\\b", "/\t/evil.example",
    "/\n/evil.example", "/ x", "javascript:alert(1)", "http:/evil.example", "/\x7f",
])
def test_anything_else_goes_home(value: str | None) -> None:
    assert safe_next(value) == "/"


def test_login_url_carries_only_a_safe_next() -> None:
    assert login_url("/") == "/login"
    assert login_url("//evil.example") == "/login"
    assert login_url("/audit?limit=5") == "/login?next=/audit%3Flimit%3D5"


def test_csrf_needs_the_sessions_value() -> None:
    session: dict[str, Any] = {}
    request = request_with(session)
    assert not csrf_ok(request, "")
    token = csrf_token(request)
    assert token and session[SESSION_CSRF] == token and csrf_token(request) == token
    assert csrf_ok(request, token)
    assert not csrf_ok(request, token + "x")
    assert not csrf_ok(request, "")
    assert not csrf_ok(request_with({SESSION_CSRF: ""}), "")


def test_a_new_session_forgets_the_old_one() -> None:
    session: dict[str, Any] = {SESSION_CSRF: "old", SESSION_FLASH: {"kind": "ok", "text": "x"}, "other": 1}
    start_session(request_with(session), "vf_token")
    assert set(session) == {SESSION_TOKEN, SESSION_CSRF}
    assert session[SESSION_TOKEN] == "vf_token" and session[SESSION_CSRF] != "old"


def test_long_flash_messages_are_cut_to_fit_the_cookie() -> None:
    session: dict[str, Any] = {}
    flash(request_with(session), "error", "x" * 5000)
    assert len(session[SESSION_FLASH]["text"]) == MAX_FLASH_CHARS
    assert session[SESSION_FLASH]["kind"] == "error"
