"""Request dependencies as ``Annotated`` aliases; everything comes from the app's state.

Identity comes only from ``Authorization: Bearer <token>``, resolved against the
service's token table (scoped tokens of :mod:`vidforge.identity`). A missing,
unknown or revoked token is 401; a token without the route's scope 403; a
token over its request rate 429 with ``Retry-After``. Routes that upload take
no body parameters, so these checks run before a byte of the body is read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from services.serving.errors import ForbiddenError, RateLimitedError, UnauthenticatedError, UnknownParameterError
from services.serving.maintenance import Maintenance
from services.serving.metrics import ServingMetrics
from services.serving.params import Limits
from services.serving.ratelimit import RateLimiter
from services.serving.results import ResultStore
from services.serving.store import JobStore
from services.serving.waiters import JobWaiters
from services.serving.watcher import ModelWatcher
from services.serving.worker import WorkerPool
from vidforge.identity import Principal, Scope, bearer_token
from vidforge.settings import Settings


@dataclass(frozen=True)
class ServingState:
    """The per-app objects ``create_app`` builds (``app.state.serving``)."""

    settings: Settings
    metrics: ServingMetrics
    store: JobStore
    results: ResultStore
    watcher: ModelWatcher
    workers: WorkerPool
    maintenance: Maintenance
    waiters: JobWaiters
    request_limiter: RateLimiter
    submit_limiter: RateLimiter

    @property
    def limits(self) -> Limits:
        """Request limits from ``settings.serving``."""
        s = self.settings.serving
        return Limits(max_frames=s.max_frames, max_steps=s.max_steps, max_side=s.max_side)


def get_state(request: Request) -> ServingState:
    """The app's :class:`ServingState`."""
    state: ServingState = request.app.state.serving
    return state


StateDep = Annotated[ServingState, Depends(get_state)]


def current_principal(request: Request, state: StateDep) -> Principal:
    """The caller, from the bearer token; counted against its request rate.

    Raises:
        UnauthenticatedError: no, malformed, unknown or revoked token (401).
        RateLimitedError: over ``serving.request_rate_per_min`` (429).
    """
    plain = bearer_token(request.headers.get("authorization"))
    if not plain:
        raise UnauthenticatedError("missing or malformed credentials: send 'Authorization: Bearer <token>'")
    principal = state.store.resolve_token(plain)
    if principal is None:
        raise UnauthenticatedError("unknown or revoked token")
    wait = state.request_limiter.take(principal.name)
    if wait:
        state.metrics.jobs_rejected.labels("rate_limited").inc()
        raise RateLimitedError(f"token {principal.name!r} is over its request rate; retry in {wait:.1f} s", wait)
    return principal


def _scoped(scope: Scope) -> Callable[[Principal], Principal]:
    def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.allows(scope):
            held = ", ".join(sorted(s.value for s in principal.scopes)) or "none"
            raise ForbiddenError(f"this request needs the {scope.value!r} scope; token {principal.name!r} has {held}")
        return principal

    return check


def only_query(*names: str) -> Callable[[Request], None]:
    """A dependency refusing query parameters other than ``names`` (422 naming them, like form fields)."""

    def check(request: Request) -> None:
        unknown = sorted(set(request.query_params) - set(names))
        if unknown:
            known = ", ".join(names) or "none"
            raise UnknownParameterError(
                f"unknown query parameter{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(repr(u[:64]) for u in unknown[:20])}; known: {known}"
            )

    return check


Submitter = Annotated[Principal, Depends(_scoped(Scope.JOBS_SUBMIT))]
Reader = Annotated[Principal, Depends(_scoped(Scope.JOBS_READ))]
Admin = Annotated[Principal, Depends(_scoped(Scope.ADMIN))]
