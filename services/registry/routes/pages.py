"""The registry's stakeholder pages (server-rendered, token login, CSRF-checked forms) and ``GET /healthz``.

Every page but ``/login`` and ``/healthz`` needs a signed-in session (see
:mod:`services.registry.pages_auth`); every action is the session token's
principal's, checked by the store's rules like any API call. A refused action
(:class:`~services.registry.errors.RegistryError`: a rule, a lost
compare-and-set, a role, bad input) comes back as a message on the page the form
was on, never as an error status. Evaluation reports and data cards are served
from the object store only after their URI passes the allow-list again, and with
a sandboxing Content-Security-Policy (they are generated HTML).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from services.registry.deps import SettingsDep, StoreDep
from services.registry.entities import ModelVersion
from services.registry.errors import Forbidden, InvalidInput, NotFound, RegistryError
from services.registry.pages_auth import (
    PageUser,
    csrf_ok,
    csrf_refused,
    error_page,
    flash,
    render,
    safe_next,
    start_session,
)
from services.registry.routes.params import ModelName, VersionNumber
from services.registry.store import RegistryStore
from vidforge.settings import Settings
from vidforge.store import open_uri
from vidforge.uris import UriNotAllowed, allowed_prefixes, check_storage_uri

router = APIRouter(tags=["pages"])

CHAMPION_ALIAS = "production"
"""The alias whose version a candidate's metrics are shown beside."""
STORED_HTML_CSP = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
"""Reports and data cards: no scripts, no requests anywhere, an opaque origin; framed only by these pages."""
AUDIT_PAGE_MAX = 1000

FormText = Annotated[str, Form()]


def _version_path(name: str, version: int) -> str:
    return f"/models/{quote(name)}/versions/{version}"


def _see_other(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the app is up (its store opened, so the schema is at head)."""
    return {"status": "ok"}


# ---- signing in and out -----------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next_path: Annotated[str, Query(alias="next")] = "/") -> HTMLResponse:
    """The token form; ``next`` (a local path only) is where a successful login goes."""
    return render(request, "login.html", user=None, next=safe_next(next_path), message="")


@router.post("/login", response_model=None)
def login(
    request: Request, store: StoreDep, token: FormText = "", csrf: FormText = "",
    next_path: Annotated[str, Form(alias="next")] = "/",
) -> Response:
    """Check the token; on success start a session and 303 to ``next``; else the form again with 401."""
    target = safe_next(next_path)
    if not csrf_ok(request, csrf):
        return csrf_refused(request)
    plain = token.strip()
    principal = store.resolve_token(plain)
    if principal is None:
        message = "That token is unknown or has been revoked. Check it and try again."
        return render(request, "login.html", user=None, status_code=401, next=target, message=message)
    start_session(request, plain)
    return _see_other(target)


@router.post("/logout", response_model=None)
def logout(request: Request, csrf: FormText = "") -> Response:
    """End the session (CSRF-checked) and go to the login page."""
    if not csrf_ok(request, csrf):
        return csrf_refused(request)
    request.session.clear()
    return _see_other("/login")


# ---- reading ----------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def models_page(request: Request, store: StoreDep, user: PageUser) -> HTMLResponse:
    """Every model: its aliases, how many versions, and the newest."""
    rows = []
    for model in store.list_models():
        versions = store.list_versions(model.name)
        rows.append({"model": model, "count": len(versions), "newest": versions[-1] if versions else None})
    return render(request, "models.html", user=user, rows=rows)


@router.get("/models/{name}", response_class=HTMLResponse)
def model_page(request: Request, name: ModelName, store: StoreDep, user: PageUser) -> HTMLResponse:
    """A model's versions (newest first) with gate, metrics, registrant and reviews; its aliases."""
    try:
        model = store.get_model(name)
        versions = list(reversed(store.list_versions(name)))
        reviews = {mv.version: store.list_approvals(name, mv.version) for mv in versions}
    except NotFound as exc:
        return error_page(request, 404, exc.message, user)
    return render(request, "model.html", user=user, model=model, versions=versions, reviews=reviews)


@dataclass(frozen=True)
class MetricRow:
    """One metric of a candidate beside the champion's (None where one of them lacks it)."""

    name: str
    value: float | None
    champion: float | None

    @property
    def delta(self) -> float | None:
        """Candidate minus champion, when both exist."""
        return None if self.value is None or self.champion is None else self.value - self.champion


def _champion(store: RegistryStore, mv: ModelVersion, aliases: dict[str, int]) -> ModelVersion | None:
    behind = aliases.get(CHAMPION_ALIAS)
    return None if behind is None or behind == mv.version else store.get_version(mv.name, behind)


def _version_context(store: RegistryStore, name: str, version: int) -> dict[str, Any]:
    """Everything the version page shows. Raises NotFound."""
    model = store.get_model(name)
    mv = store.get_version(name, version)
    champion = _champion(store, mv, model.aliases)
    champion_metrics = champion.metrics if champion else {}
    metrics = [MetricRow(k, mv.metrics.get(k), champion_metrics.get(k))
               for k in sorted(set(mv.metrics) | set(champion_metrics))]
    promotions = [{"alias": alias, "current": model.aliases.get(alias)} for alias in model.protected_aliases]
    return {
        "model": model, "mv": mv, "champion": champion, "metrics": metrics,
        "lineage": store.lineage(name, version)[1:], "approvals": store.list_approvals(name, version),
        "blockers": store.promotion_blockers(name, version), "promotions": promotions,
        "base": _version_path(name, version),
    }


@router.get("/models/{name}/versions/{version}", response_class=HTMLResponse)
def version_page(
    request: Request, name: ModelName, version: VersionNumber, store: StoreDep, user: PageUser
) -> HTMLResponse:
    """A version: metrics beside the champion, gate checks, lineage, reviews, blockers, report, forms."""
    try:
        context = _version_context(store, name, version)
    except NotFound as exc:
        return error_page(request, 404, exc.message, user)
    return render(request, "version.html", user=user, **context)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request, store: StoreDep, user: PageUser,
    limit: Annotated[int, Query(ge=1, le=AUDIT_PAGE_MAX)] = 100,
    before_id: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    """The chain's verification, then the newest audit records (``before_id`` pages to older ones)."""
    events = store.audit_log(None, limit, before_id)
    rows = [{"event": e, "details": json.dumps(e.details, sort_keys=True, ensure_ascii=False)} for e in events]
    older = events[-1].id if len(events) == limit and events[-1].id > 1 else None
    return render(request, "audit.html", user=user, chain=store.verify_audit(), rows=rows, older=older, limit=limit)


# ---- stored HTML: reports and data cards ------------------------------------------------


def _stored_html(uri: str, settings: Settings, what: str) -> Response:
    """The HTML object at ``uri``, re-checked against the allow-list. Raises NotFound, Forbidden."""
    if not uri:
        raise NotFound(f"no {what} is recorded for this version")
    try:
        check_storage_uri(uri, allowed_prefixes(settings), what)
    except UriNotAllowed as exc:
        raise Forbidden(f"refusing to serve the {what}: {exc}") from exc
    try:
        store, key = open_uri(uri, settings.store)
        data = store.get_bytes(key)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, ValueError) as exc:
        raise NotFound(f"the {what} at {uri} cannot be read: it does not exist") from exc
    headers = {"Content-Security-Policy": STORED_HTML_CSP, "X-Content-Type-Options": "nosniff",
               "Referrer-Policy": "no-referrer", "Cache-Control": "private, no-cache"}
    return Response(content=data, media_type="text/html; charset=utf-8", headers=headers)


@router.get("/models/{name}/versions/{version}/report")
def version_report(
    name: ModelName, version: VersionNumber, store: StoreDep, settings: SettingsDep, _: PageUser
) -> Response:
    """The version's evaluation report (its ``report_uri``); 404 when none, 403 outside the allowed locations."""
    return _stored_html(store.get_version(name, version).report_uri, settings, "evaluation report")


@router.get("/models/{name}/versions/{version}/datacard")
def version_datacard(
    name: ModelName, version: VersionNumber, store: StoreDep, settings: SettingsDep, _: PageUser
) -> Response:
    """The data card of the version's training dataset (``dataset_uri`` + ``/datacard.html``)."""
    dataset_uri = store.get_version(name, version).dataset_uri
    return _stored_html(f"{dataset_uri.rstrip('/')}/datacard.html" if dataset_uri else "", settings, "data card")


# ---- actions ----------------------------------------------------------------------------


@router.post("/models/{name}/versions/{version}/review", response_model=None)
def review(
    request: Request, name: ModelName, version: VersionNumber, store: StoreDep, user: PageUser,
    decision: FormText = "", comment: FormText = "", csrf: FormText = "",
) -> Response:
    """Record the signed-in approver's decision; the outcome is a message on the version page."""
    if not csrf_ok(request, csrf):
        return csrf_refused(request, user)
    try:
        store.add_approval(name, version, user, decision, comment.strip())
    except RegistryError as exc:
        flash(request, "error", f"Review not recorded: {exc.message}")
    else:
        flash(request, "ok", f"Recorded: {user.name} {decision} {name} v{version}.")
    return _see_other(_version_path(name, version))


def _expected(value: str) -> int | None:
    """The ``expected_version`` form field: empty → None (the alias is unset), else a version number."""
    value = value.strip()
    if not value:
        return None
    if not value.isdigit():
        raise InvalidInput(f"expected_version must be a version number or empty, got {value[:40]!r}")
    return int(value)


@router.post("/models/{name}/versions/{version}/promote", response_model=None)
def promote(
    request: Request, name: ModelName, version: VersionNumber, store: StoreDep, user: PageUser,
    alias: FormText = "", expected_version: FormText = "", csrf: FormText = "",
) -> Response:
    """Move ``alias`` to this version by compare-and-set from the version the page showed."""
    if not csrf_ok(request, csrf):
        return csrf_refused(request, user)
    try:
        store.set_alias(name, alias, version, user, expected_version=_expected(expected_version))
    except RegistryError as exc:
        flash(request, "error", f"Not promoted: {exc.message}")
    else:
        flash(request, "ok", f"{name}:{alias} now points at v{version}.")
    return _see_other(_version_path(name, version))
