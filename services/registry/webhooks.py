"""Webhooks: a model's subscribers are told of every alias change, signed, retried, recorded.

An alias move queues one delivery per active subscriber *in the move's own
transaction* (an outbox), so an event is never lost and never sent for a move
that rolled back. :class:`WebhookDispatcher` (a thread in the registry's HTTP
service) sends due deliveries and records each attempt; a failed attempt is
retried with exponential backoff up to :data:`MAX_ATTEMPTS`, then marked failed.

Each request is a JSON ``POST`` with these headers:

- ``X-Vidforge-Event: alias.changed`` and ``X-Vidforge-Delivery: <delivery id>``;
- ``X-Vidforge-Signature: t=<unix seconds>,v1=<hex>`` where ``hex`` is
  HMAC-SHA256 of ``"<t>.<body>"`` under the subscriber's secret (shown once when
  the webhook is created). Receivers check it with :func:`verify_signature`,
  which also refuses a timestamp older than five minutes (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import select

from services.registry import queries as q
from services.registry import rules
from services.registry import validation as v
from services.registry.entities import Webhook, WebhookDelivery
from services.registry.errors import NotFound
from services.registry.models import (
    AuditEventRow,
    ModelVersionRow,
    RegisteredModelRow,
    WebhookDeliveryRow,
    WebhookRow,
    utcnow,
)
from vidforge.identity import Principal, Role

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

SIGNATURE_HEADER = "X-Vidforge-Signature"
MAX_ATTEMPTS = 6
BACKOFF_S = 2.0
"""First retry after this many seconds, doubling each time (2, 4, 8, 16, 32 s)."""
LEASE_S = 60.0
"""A claimed delivery is not claimed again for this long (another replica's send in flight)."""
TIMEOUT_S = 10.0
MAX_WEBHOOKS = 20


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Vidforge-Signature`` header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(
    secret: str, header: str, body: bytes, tolerance_s: float = 300.0, now: float | None = None
) -> bool:
    """Whether ``header`` signs ``body`` under ``secret`` and is at most ``tolerance_s`` old."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (ValueError, KeyError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))


def alias_event(event: AuditEventRow, target: ModelVersionRow) -> dict[str, Any]:
    """The payload of an alias change (what serving needs to follow the alias without polling)."""
    return {
        "type": "alias.changed",
        "event_id": event.id,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "model": event.model_name,
        "alias": event.details["alias"],
        "from": event.details["from"],
        "to": event.details["to"],
        "version": {"version": target.version, "artifact_uri": target.artifact_uri, "sha256": target.sha256},
    }


def _webhook(row: WebhookRow, name: str) -> Webhook:
    return Webhook(row.id, name, row.url, row.created_by, row.created_at, row.active)


def _delivery(row: WebhookDeliveryRow) -> WebhookDelivery:
    return WebhookDelivery(row.id, row.webhook_id, row.event_id, row.status, row.attempts, row.next_attempt_at,
                           row.last_status_code, row.last_error, row.delivered_at)


class WebhookMixin:
    """Webhook operations of the registry store."""

    _run: Callable[..., Any]
    policy: Any

    def add_webhook(self, name: str, url: str, who: Principal) -> tuple[Webhook, str]:
        """Subscribe ``url`` to alias changes of model ``name`` (admin); returns it and its signing secret."""
        name = v.check_name(name)
        url = v.check_url(url, self.policy.webhook_hosts)
        rules.require_role(who, Role.ADMIN, "adding webhooks")
        secret = secrets.token_hex(32)

        def op(s: Session) -> tuple[Webhook, str]:
            model = q.require_model(s, name)
            count = len(list(s.scalars(select(WebhookRow.id).where(WebhookRow.model_id == model.id))))
            if count >= MAX_WEBHOOKS:
                raise v.InvalidInput(f"model {name!r} already has {MAX_WEBHOOKS} webhooks")
            row = WebhookRow(model_id=model.id, url=url, secret=secret, created_by=who.name, created_at=utcnow(),
                             active=True)
            s.add(row)
            s.flush()
            q.audit(s, who.name, "add_webhook", name, None, {"webhook": row.id, "after": {"url": url}})
            return _webhook(row, name), secret

        result: tuple[Webhook, str] = self._run(op, write=True)
        return result

    def list_webhooks(self, name: str, who: Principal) -> list[Webhook]:
        """The subscribers of model ``name`` (admin)."""
        name = v.check_name(name)
        rules.require_role(who, Role.ADMIN, "listing webhooks")

        def op(s: Session) -> list[Webhook]:
            model = q.require_model(s, name)
            rows = s.scalars(select(WebhookRow).where(WebhookRow.model_id == model.id).order_by(WebhookRow.id))
            return [_webhook(r, name) for r in rows]

        result: list[Webhook] = self._run(op)
        return result

    def remove_webhook(self, name: str, webhook_id: int, who: Principal) -> None:
        """Deactivate a subscriber (admin); its delivery history stays. Raises NotFound."""
        name, webhook_id = v.check_name(name), v.check_version(webhook_id, "webhook id")
        rules.require_role(who, Role.ADMIN, "removing webhooks")

        def op(s: Session) -> None:
            model = q.require_model(s, name)
            row = s.get(WebhookRow, webhook_id)
            if row is None or row.model_id != model.id or not row.active:
                raise NotFound(f"model {name!r} has no active webhook {webhook_id}")
            row.active = False
            q.audit(s, who.name, "remove_webhook", name, None, {"webhook": row.id, "before": {"url": row.url}})

        self._run(op, write=True)

    def list_deliveries(self, name: str, who: Principal, limit: int = 100) -> list[WebhookDelivery]:
        """The newest deliveries to model ``name``'s subscribers (admin), newest first."""
        name, limit = v.check_name(name), v.check_limit(limit)
        rules.require_role(who, Role.ADMIN, "listing webhook deliveries")

        def op(s: Session) -> list[WebhookDelivery]:
            model = q.require_model(s, name)
            query = (select(WebhookDeliveryRow).join(WebhookRow, WebhookRow.id == WebhookDeliveryRow.webhook_id)
                     .where(WebhookRow.model_id == model.id).order_by(WebhookDeliveryRow.id.desc()).limit(limit))
            return [_delivery(r) for r in s.scalars(query)]

        result: list[WebhookDelivery] = self._run(op)
        return result

    @staticmethod
    def _enqueue_deliveries(s: Session, model: RegisteredModelRow, payload: dict[str, Any]) -> None:
        """Queue ``payload`` for every active subscriber of ``model`` (inside the caller's transaction)."""
        hooks = s.scalars(select(WebhookRow).where(WebhookRow.model_id == model.id, WebhookRow.active.is_(True)))
        for hook in hooks:
            s.add(WebhookDeliveryRow(webhook_id=hook.id, event_id=payload["event_id"], payload=payload,
                                     status="pending", attempts=0, next_attempt_at=utcnow(), last_error=""))

    def claim_deliveries(self, limit: int = 20) -> list[tuple[int, str, str, dict[str, Any]]]:
        """Claim due deliveries for :data:`LEASE_S`: ``(delivery id, url, secret, payload)`` each."""

        def op(s: Session) -> list[tuple[int, str, str, dict[str, Any]]]:
            now = utcnow()
            query = (select(WebhookDeliveryRow, WebhookRow)
                     .join(WebhookRow, WebhookRow.id == WebhookDeliveryRow.webhook_id)
                     .where(WebhookDeliveryRow.status == "pending", WebhookDeliveryRow.next_attempt_at <= now)
                     .order_by(WebhookDeliveryRow.id).limit(limit))
            claimed = []
            for delivery, hook in s.execute(query).all():
                delivery.next_attempt_at = now + timedelta(seconds=LEASE_S)
                claimed.append((delivery.id, hook.url, hook.secret, dict(delivery.payload)))
            return claimed

        result: list[tuple[int, str, str, dict[str, Any]]] = self._run(op, write=True)
        return result

    def record_attempt(self, delivery_id: int, status_code: int | None, error: str) -> WebhookDelivery:
        """Record one send: 2xx delivers; anything else schedules a retry, or fails after :data:`MAX_ATTEMPTS`."""

        def op(s: Session) -> WebhookDelivery:
            row = s.get(WebhookDeliveryRow, delivery_id)
            if row is None:
                raise NotFound(f"no webhook delivery {delivery_id}")
            row.attempts += 1
            row.last_status_code, row.last_error = status_code, error[:2000]
            now = utcnow()
            if status_code is not None and 200 <= status_code < 300:
                row.status, row.delivered_at = "delivered", now
            elif row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
            else:
                row.next_attempt_at = now + timedelta(seconds=BACKOFF_S * 2 ** (row.attempts - 1))
            return _delivery(row)

        result: WebhookDelivery = self._run(op, write=True)
        return result


class WebhookDispatcher:
    """A daemon thread that sends due deliveries every ``interval_s`` (see the module docstring)."""

    def __init__(self, store: WebhookMixin, interval_s: float = 1.0, client: httpx.Client | None = None) -> None:
        self.store = store
        self.interval_s = interval_s
        self._client = client or httpx.Client(timeout=TIMEOUT_S, follow_redirects=False)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def send_due(self) -> int:
        """Send every delivery due now; returns how many were attempted."""
        claimed = self.store.claim_deliveries()
        for delivery_id, url, secret, payload in claimed:
            body = json.dumps(payload, sort_keys=True).encode()
            headers = {"Content-Type": "application/json", "X-Vidforge-Event": payload.get("type", ""),
                       "X-Vidforge-Delivery": str(delivery_id), SIGNATURE_HEADER: sign(secret, body, int(time.time()))}
            try:
                response = self._client.post(url, content=body, headers=headers)
                self.store.record_attempt(delivery_id, response.status_code, "" if response.is_success else
                                          response.text[:500])
            except httpx.HTTPError as exc:
                self.store.record_attempt(delivery_id, None, f"{type(exc).__name__}: {exc}")
        return len(claimed)

    def start(self) -> None:
        """Start the background thread."""
        self._thread = threading.Thread(target=self._loop, name="registry-webhooks", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.send_due()
            except Exception as exc:  # the loop must outlive a database hiccup
                from vidforge.logging import get_logger

                get_logger(__name__).warning("webhook dispatch failed", error=str(exc))

    def stop(self) -> None:
        """Stop the thread and close the HTTP client."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._client.close()
