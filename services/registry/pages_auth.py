"""Sessions, CSRF and rendering for the registry's HTML pages (:mod:`services.registry.routes.pages`).

A visitor logs in with an API token (``POST /login``). The signed session cookie
(starlette's ``SessionMiddleware``, HttpOnly and SameSite strict, installed by
:func:`services.registry.api.create_app`) then holds:

- ``token``: the API token. It is resolved to a principal on *every* request
  (:func:`page_user`), so a revoked token ends the session at the next click, and
  every action is made by the token's principal, never by a name in a form;
- ``csrf``: a random value each form echoes in a hidden ``csrf`` field; a POST
  without the session's value is refused with a 403 page. It is created on the
  first visit (so the login form is protected too) and replaced at login;
- ``flash``: one message for the next page (the outcome of a form, shown after
  its redirect).

Pages are served with a Content-Security-Policy that allows no scripts at all.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.registry.deps import StoreDep
from vidforge.identity import Principal, Role, same_secret

SESSION_TOKEN = "token"
SESSION_CSRF = "csrf"
SESSION_FLASH = "flash"
MAX_FLASH_CHARS = 1000
"""Longer flash messages are cut (the session lives in a cookie of at most 4 KB)."""
PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
"""The pages' Content-Security-Policy: no scripts, forms and frames only to this origin, never framed."""

_TEMPLATES = Jinja2Templates(env=Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True, undefined=StrictUndefined,
))


def safe_next(value: str | None) -> str:
    """``value`` when it is a path on this site (``/models/m?x=1``), else ``/``: never an open redirect.

    Refused: absolute or scheme-relative URLs (``https://x``, ``//x``, ``/\\x``),
    and anything with whitespace or control characters (browsers drop some of
    them, turning ``/\\t/x`` into ``//x``).
    """
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")) or "\\" in value:
        return "/"
    if any(ord(c) < 32 or ord(c) == 127 or c.isspace() for c in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


def login_url(next_path: str) -> str:
    """The login page that returns to ``next_path`` (checked by :func:`safe_next`) afterwards."""
    target = safe_next(next_path)
    return "/login" if target == "/" else f"/login?next={quote(target, safe='/')}"


def _return_path(request: Request) -> str:
    """Where to come back after login: this page for a GET; for a form post the page the form was on."""
    path = request.url.path
    if request.method != "GET":
        return path.rsplit("/", 1)[0] or "/"
    return f"{path}?{request.url.query}" if request.url.query else path


def page_user(request: Request, store: StoreDep) -> Principal:
    """The signed-in principal, resolved from the session's token now (revocation takes effect at once).

    Raises:
        HTTPException: 303 to the login page (with ``next``) when nobody is signed
            in or the token is unknown or revoked; the app's handler keeps the
            ``Location`` header.
    """
    token = request.session.get(SESSION_TOKEN)
    principal = store.resolve_token(token) if isinstance(token, str) and token else None
    if principal is None:
        request.session.pop(SESSION_TOKEN, None)
        raise StarletteHTTPException(status_code=303, headers={"Location": login_url(_return_path(request))})
    return principal


PageUser = Annotated[Principal, Depends(page_user)]
"""A page's principal: any role (viewer and up); not signed in → redirect to the login page."""


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    value = request.session.get(SESSION_CSRF)
    if not isinstance(value, str) or not value:
        value = secrets.token_urlsafe(32)
        request.session[SESSION_CSRF] = value
    return value


def csrf_ok(request: Request, submitted: str) -> bool:
    """Whether a form's ``csrf`` field equals the session's token (constant-time; both must be non-empty)."""
    expected = request.session.get(SESSION_CSRF)
    return isinstance(expected, str) and bool(expected) and bool(submitted) and same_secret(submitted, expected)


def start_session(request: Request, token: str) -> None:
    """Sign in: a fresh session holding ``token`` and a new CSRF token (nothing of the old one survives)."""
    request.session.clear()
    request.session[SESSION_TOKEN] = token
    request.session[SESSION_CSRF] = secrets.token_urlsafe(32)


def flash(request: Request, kind: str, text: str) -> None:
    """Leave one message for the next page; ``kind`` is ``ok`` or ``error`` (styles it)."""
    shown = text if len(text) <= MAX_FLASH_CHARS else text[: MAX_FLASH_CHARS - 1] + "…"
    request.session[SESSION_FLASH] = {"kind": kind, "text": shown}


def render(
    request: Request, template: str, *, user: Principal | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Render ``template`` with ``user``, the CSRF token, the pending flash message and ``context``.

    Every page gets :data:`PAGE_CSP`, ``no-store`` caching (pages carry the CSRF
    token) and ``nosniff``.
    """
    message = request.session.pop(SESSION_FLASH, None)
    values = {
        "user": user,
        "csrf": csrf_token(request),
        "flash": message if isinstance(message, dict) else None,
        "can_review": user is not None and user.can(Role.APPROVER),
        **context,
    }
    headers = {"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
               "Referrer-Policy": "same-origin"}
    return _TEMPLATES.TemplateResponse(request, template, values, status_code=status_code, headers=headers)


def error_page(request: Request, status_code: int, message: str, user: Principal | None = None) -> HTMLResponse:
    """A page that states ``message`` with ``status_code`` (a missing model, a refused form)."""
    return render(request, "error.html", user=user, status_code=status_code, message=message)


def csrf_refused(request: Request, user: Principal | None = None) -> HTMLResponse:
    """The 403 page for a form post without the session's CSRF token."""
    message = ("This form's security token is missing or out of date, so nothing was changed. "
               "Go back, reload the page and submit it again.")
    return error_page(request, 403, message, user)
