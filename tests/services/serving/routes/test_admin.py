"""``/v1/admin``: the registry's signed webhook wakes the watcher; admins manage tokens."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from services.registry.webhooks import SIGNATURE_HEADER, WebhookDispatcher, sign
from tests.services.serving.conftest import MODEL, Artifacts, GovernedRegistry, auth
from tests.services.serving.routes.test_jobs import SMALL, submit
from vidforge.settings import Settings

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

BODY = b'{"type": "alias.changed", "alias": "production"}'


def _signed(secret: str, body: bytes = BODY, at: float | None = None) -> dict[str, str]:
    return {SIGNATURE_HEADER: sign(secret, body, int(time.time() if at is None else at))}


def test_disabled_without_secret(make_client: Callable[..., TestClient]) -> None:
    r = make_client(load=False, worker=False).post("/v1/admin/reload", content=BODY, headers=_signed("x"))
    assert r.status_code == 404 and r.json()["error"] == "webhook_disabled"


def test_bad_stale_or_missing_signature_is_401(make_client: Callable[..., TestClient]) -> None:
    client = make_client({"webhook_secret": "k"}, load=False, worker=False)
    for headers in ({}, _signed("wrong"), {SIGNATURE_HEADER: _signed("k")[SIGNATURE_HEADER] + "0"},
                    _signed("k", at=time.time() - 3600)):
        r = client.post("/v1/admin/reload", content=BODY, headers=headers)
        assert r.status_code == 401 and r.json()["error"] == "bad_signature", headers


def test_the_registrys_webhook_delivery_swaps_the_model(
    settings: Settings, make_client: Callable[..., TestClient], registry: GovernedRegistry,
    artifacts: Artifacts, wait_for: Callable[..., None],
) -> None:
    admin = registry.store.resolve_token(registry.admin_token)
    assert admin is not None
    _, secret = registry.store.add_webhook(MODEL, "http://localhost/v1/admin/reload", admin)
    settings.serving.poll_interval_s = 120.0  # only the webhook can make the next poll happen in time
    client = make_client({"webhook_secret": secret}, load=False, worker=False, start_background=True)
    wait_for(lambda: client.get("/readyz").status_code == 200, what="first load")
    registry.create_version(MODEL, artifact_uri=artifacts.v2.uri, sha256=artifacts.v2.sha256)
    registry.set_alias(MODEL, "production", 2)

    assert WebhookDispatcher(registry.store, client=client).send_due() == 1  # the registry's own sender

    wait_for(lambda: client.get("/readyz").json()["model_version"] == 2, what="swap to v2")
    delivery = registry.store.list_deliveries(MODEL, admin)[0]
    assert (delivery.status, delivery.last_status_code) == ("delivered", 202)


def test_admins_manage_tokens_and_others_may_not(
    make_client: Callable[..., TestClient], tokens: dict[str, str], png: Callable[..., bytes]
) -> None:
    client = make_client(worker=False, token="root")
    r = client.post("/v1/admin/tokens", json={"name": "video-app", "scopes": ["jobs:submit", "jobs:read"]})
    assert r.status_code == 201 and r.json()["scopes"] == ["jobs:read", "jobs:submit"]
    assert r.json()["created_by"] == "root" and r.json()["token"].startswith("vf_")
    new = r.json()["token"]
    assert submit(client, png(), headers=auth(new), **SMALL).status_code == 202
    assert "video-app" in [t["name"] for t in client.get("/v1/admin/tokens").json()]
    assert "token" not in client.get("/v1/admin/tokens").json()[0]
    assert client.post("/v1/admin/tokens", json={"name": "video-app", "scopes": ["jobs:read"]}).status_code == 409
    bad = client.post("/v1/admin/tokens", json={"name": "x", "scopes": ["jobs:write"]})
    assert bad.status_code == 422 and "unknown scope 'jobs:write'" in bad.json()["message"]
    assert client.delete("/v1/admin/tokens/video-app").json()["revoked_at"] is not None
    assert submit(client, png(), headers=auth(new), **SMALL).status_code == 401
    r = client.get("/v1/admin/tokens", headers=auth(tokens["alice"]))
    assert r.status_code == 403 and "needs the 'admin' scope" in r.json()["message"]
