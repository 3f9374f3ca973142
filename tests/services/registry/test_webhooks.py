"""Webhooks: an alias change is queued in its transaction, signed, delivered, retried, recorded."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
import sqlalchemy as sa

from services.registry.errors import InvalidInput
from services.registry.store import RegistryStore
from services.registry.webhooks import SIGNATURE_HEADER, WebhookDispatcher, sign, verify_signature
from tests.services.registry.conftest import ADMIN, ALICE, BOB, OPS

SHA = "cd" * 32


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []  # noqa: RUF012 - per-server list set below
    fail_first = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((dict(self.headers), body))  # type: ignore[attr-defined]
        failing = len(self.server.received) <= self.server.fail_first  # type: ignore[attr-defined]
        self.send_response(503 if failing else 204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[HTTPServer]:
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    server.received = []  # type: ignore[attr-defined]
    server.fail_first = 1  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def test_signature_round_trip_and_replay_window() -> None:
    header = sign("s3cret", b"{}", 1_000)
    assert verify_signature("s3cret", header, b"{}", now=1_100)
    assert not verify_signature("other", header, b"{}", now=1_100)
    assert not verify_signature("s3cret", header, b"{ }", now=1_100)
    assert not verify_signature("s3cret", header, b"{}", now=1_000 + 301)
    assert not verify_signature("s3cret", "garbage", b"{}", now=1_000)


def test_alias_changes_reach_subscribers_signed_with_retries(
    db_url: str, store: RegistryStore, receiver: HTTPServer
) -> None:
    store.create_version("m", OPS, artifact_uri="s3://b/m1", sha256=SHA, gate_passed=True)
    url = f"http://127.0.0.1:{receiver.server_port}/hook"
    hook, secret = store.add_webhook("m", url, ADMIN)
    store.add_approval("m", 1, ALICE, "approved")
    store.set_alias("m", "production", 1, BOB, expected_version=None)
    dispatcher = WebhookDispatcher(store)
    try:
        assert dispatcher.send_due() == 1  # first attempt: the receiver answers 503
        [failed] = store.list_deliveries("m", ADMIN)
        assert (failed.status, failed.attempts, failed.last_status_code) == ("pending", 1, 503)
        assert dispatcher.send_due() == 0  # backing off
        engine = sa.create_engine(db_url)  # make the retry due now
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE webhook_deliveries SET next_attempt_at = :t"), {"t": datetime(2000, 1, 1)})
        engine.dispose()
        assert dispatcher.send_due() == 1
    finally:
        dispatcher.stop()
    [delivered] = store.list_deliveries("m", ADMIN)
    assert (delivered.status, delivered.attempts, delivered.webhook_id) == ("delivered", 2, hook.id)
    headers, body = receiver.received[-1]  # type: ignore[attr-defined]
    assert verify_signature(secret, headers[SIGNATURE_HEADER], body)
    event = json.loads(body)
    assert (event["type"], event["model"], event["alias"], event["from"], event["to"]) == (
        "alias.changed", "m", "production", None, 1)
    assert event["version"] == {"version": 1, "artifact_uri": "s3://b/m1", "sha256": SHA}
    assert event["actor"] == "bob"


def test_webhook_urls_are_allow_listed(store: RegistryStore) -> None:
    store.create_model("m", OPS)
    for url in ("http://169.254.169.254/latest/meta-data", "http://example.com/hook", "ftp://127.0.0.1/x",
                "http://user:pw@127.0.0.1/x"):
        with pytest.raises(InvalidInput):
            store.add_webhook("m", url, ADMIN)
    assert store.list_webhooks("m", ADMIN) == []
