"""``/v1/admin/reload``: a signed webhook (e.g. from the registry) that triggers a poll.

The body is opaque; it must carry ``X-Vidforge-Signature: sha256=<hex>``, the
HMAC-SHA256 of the raw body keyed with ``settings.serving.webhook_secret``
(env ``VIDFORGE_SERVING__WEBHOOK_SECRET``). Without a configured secret the endpoint answers 404.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import APIRouter, Header, Request

from services.serving.deps import SettingsDep, WatcherDep
from services.serving.errors import BadSignatureError, WebhookDisabledError
from services.serving.schemas import ErrorPublic, ReloadAccepted

router = APIRouter(prefix="/v1/admin", tags=["admin"])

SIGNATURE_HEADER = "X-Vidforge-Signature"


def sign(secret: str, body: bytes) -> str:
    """The header value a sender puts on ``body``: ``sha256=<hex hmac>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@router.post(
    "/reload", status_code=202, response_model=ReloadAccepted,
    responses={401: {"model": ErrorPublic}, 404: {"model": ErrorPublic}},
)
async def reload(
    request: Request,
    watcher: WatcherDep,
    settings: SettingsDep,
    signature: Annotated[str, Header(alias=SIGNATURE_HEADER)] = "",
) -> ReloadAccepted:
    """Verify the signature and wake the model watcher for an immediate poll."""
    secret = settings.serving.webhook_secret.get_secret_value()
    if not secret:
        raise WebhookDisabledError("the reload webhook is disabled (no serving.webhook_secret)")
    body = await request.body()
    if not signature or not hmac.compare_digest(sign(secret, body), signature):
        raise BadSignatureError(f"missing or wrong {SIGNATURE_HEADER} header")
    watcher.trigger()
    model = watcher.current()
    return ReloadAccepted(triggered=True, model_version=model.info.version if model else None)
