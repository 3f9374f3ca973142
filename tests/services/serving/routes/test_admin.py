"""``POST /v1/admin/reload``: HMAC-signed webhook that wakes the model watcher."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from services.registry.store import RegistryStore
from services.serving.routes.admin import SIGNATURE_HEADER, sign

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from tests.services.serving.conftest import Artifacts
    from vidforge.settings import Settings

BODY = b'{"event": "alias_moved", "alias": "production", "version": 2}'


def test_sign_is_hmac_sha256_hex() -> None:
    # RFC 4231 test case 2 (key "Jefe").
    assert sign("Jefe", b"what do ya want for nothing?") == (
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_disabled_without_secret(make_client: Callable[..., TestClient]) -> None:
    client = make_client(load=False, worker=False)
    r = client.post("/v1/admin/reload", content=BODY, headers={SIGNATURE_HEADER: sign("x", BODY)})
    assert r.status_code == 404 and r.json()["error"] == "webhook_disabled"


def test_bad_or_missing_signature_is_401(make_client: Callable[..., TestClient]) -> None:
    client = make_client({"webhook_secret": "k"}, load=False, worker=False)
    for headers in ({}, {SIGNATURE_HEADER: sign("wrong", BODY)}, {SIGNATURE_HEADER: sign("k", BODY + b" ")}):
        r = client.post("/v1/admin/reload", content=BODY, headers=headers)
        assert r.status_code == 401 and r.json()["error"] == "bad_signature", headers


def test_signed_webhook_triggers_immediate_reload(
    settings: Settings, make_client: Callable[..., TestClient], registry: RegistryStore,
    artifacts: Artifacts, wait_for: Callable[..., None],
) -> None:
    settings.serving.poll_interval_s = 120.0  # only the webhook can make the next poll happen in time
    client = make_client({"webhook_secret": "k"}, load=False, worker=False, start_background=True)
    wait_for(lambda: client.get("/readyz").status_code == 200, what="first load")
    registry.create_version("vidforge-i2v", artifact_uri=artifacts.v2.uri, sha256=artifacts.v2.sha256)
    registry.set_alias("vidforge-i2v", "production", 2)

    r = client.post("/v1/admin/reload", content=BODY, headers={SIGNATURE_HEADER: sign("k", BODY)})

    assert r.status_code == 202 and r.json() == {"triggered": True, "model_version": 1}
    wait_for(lambda: client.get("/readyz").json()["model_version"] == 2, what="swap to v2")
