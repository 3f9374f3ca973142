"""``/v1/admin``: the registry's signed webhook, and token management (``admin`` scope).

``POST /v1/admin/reload`` receives the registry's ``alias.changed`` events
(:mod:`services.registry.webhooks`): the body must carry a valid, fresh
``X-Vidforge-Signature: t=<unix>,v1=<hex>`` under ``serving.webhook_secret``
(the secret the registry showed when the webhook was added); it is
authenticated by that signature, not a token. It only wakes the watcher: the
version is still resolved and verified through the registry's API. Without a
configured secret it answers 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool

from services.registry.webhooks import SIGNATURE_HEADER, verify_signature
from services.serving.deps import Admin, StateDep
from services.serving.errors import BadSignatureError, WebhookDisabledError
from services.serving.schemas import ErrorPublic, ReloadAccepted, TokenCreate, TokenCreated, TokenPublic

router = APIRouter(prefix="/v1/admin", tags=["admin"])
_ERRORS: dict[int | str, dict[str, object]] = {code: {"model": ErrorPublic} for code in (401, 403, 404, 409, 422)}


@router.post("/reload", status_code=202, response_model=ReloadAccepted,
             responses={401: {"model": ErrorPublic}, 404: {"model": ErrorPublic}})
async def reload(
    request: Request, state: StateDep,
    signature: Annotated[str, Header(alias=SIGNATURE_HEADER, max_length=256)] = "",
) -> ReloadAccepted:
    """Verify the registry's signature and wake the model watcher for an immediate poll."""
    secret = state.settings.serving.webhook_secret.get_secret_value()
    if not secret:
        raise WebhookDisabledError("the reload webhook is disabled (no serving.webhook_secret)")
    body = await request.body()
    if not signature or not verify_signature(secret, signature, body):
        raise BadSignatureError(f"missing, wrong or stale {SIGNATURE_HEADER} header")
    state.watcher.trigger()
    model = state.watcher.current()
    return ReloadAccepted(triggered=True, model_version=model.info.version if model else None)


@router.post("/tokens", status_code=201, response_model=TokenCreated, responses=_ERRORS)
async def create_token(body: TokenCreate, state: StateDep, who: Admin) -> TokenCreated:
    """Create a scoped token; its value is in this answer only."""
    info, plain = await run_in_threadpool(state.store.create_token, body.name, body.scopes, who.name)
    return TokenCreated(**TokenPublic.from_info(info).model_dump(), token=plain)


@router.get("/tokens", response_model=list[TokenPublic], responses=_ERRORS)
def list_tokens(state: StateDep, _: Admin) -> list[TokenPublic]:
    """Every token (names and scopes, never values)."""
    return [TokenPublic.from_info(i) for i in state.store.list_tokens()]


@router.delete("/tokens/{name}", response_model=TokenPublic, responses=_ERRORS)
def revoke_token(name: str, state: StateDep, _: Admin) -> TokenPublic:
    """Revoke a token; it stops working at once."""
    return TokenPublic.from_info(state.store.revoke_token(name))
