"""``/api/models/{name}/webhooks``: subscribers to alias changes (admin) and their deliveries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from services.registry.deps import Admin, StoreDep
from services.registry.routes.params import Limit, ModelName
from services.registry.schemas import DeliveryPublic, WebhookCreate, WebhookCreated, WebhookPublic
from services.registry.validation import MAX_INT

router = APIRouter(prefix="/models/{name}/webhooks", tags=["webhooks"])


@router.get("")
def list_webhooks(name: ModelName, store: StoreDep, who: Admin) -> list[WebhookPublic]:
    """The model's subscribers."""
    return [WebhookPublic.model_validate(w) for w in store.list_webhooks(name, who)]


@router.post("", status_code=status.HTTP_201_CREATED)
def add_webhook(name: ModelName, body: WebhookCreate, store: StoreDep, who: Admin) -> WebhookCreated:
    """Subscribe a URL (its host must be allowed); the signing secret is in this response only."""
    hook, secret = store.add_webhook(name, body.url, who)
    return WebhookCreated(**hook.to_dict(), secret=secret)


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_webhook(
    name: ModelName, webhook_id: Annotated[int, Path(ge=1, le=MAX_INT)], store: StoreDep, who: Admin
) -> Response:
    """Deactivate a subscriber."""
    store.remove_webhook(name, webhook_id, who)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/deliveries")
def list_deliveries(name: ModelName, store: StoreDep, who: Admin, limit: Limit = 100) -> list[DeliveryPublic]:
    """Newest deliveries first, with attempts and the last error."""
    return [DeliveryPublic.model_validate(d) for d in store.list_deliveries(name, who, limit)]
