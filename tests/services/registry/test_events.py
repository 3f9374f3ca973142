"""Operational events (a failed pipeline task, a skipped approval) in the hash-chained audit log."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from services.registry.errors import Forbidden, InvalidInput
from services.registry.store import RegistryStore
from tests.services.registry.conftest import auth
from vidforge.alerts import on_task_failure, record_event
from vidforge.settings import Settings


def test_operator_records_an_event_in_the_chain(store: RegistryStore, tokens: dict[str, str]) -> None:
    operator, viewer = store.resolve_token(tokens["operator"]), store.resolve_token(tokens["viewer"])
    assert operator is not None and viewer is not None
    event = store.record_event("pipeline_failure", operator, {"dag_id": "vidforge_train", "error": "x" * 5000})
    assert (event.actor, event.action) == ("operator", "event:pipeline_failure")
    assert len(event.details["error"]) == 2000
    assert store.audit_log(limit=1)[0].hash == event.hash and store.verify_audit().ok
    with pytest.raises(Forbidden):
        store.record_event("pipeline_failure", viewer, {})
    with pytest.raises(InvalidInput):
        store.record_event("Set Alias", operator, {})


def test_event_route_needs_an_operator(client: TestClient, tokens: dict[str, str]) -> None:
    body = {"kind": "approval_skipped", "name": "vidforge-i2v", "details": {"reason": "approval disabled"}}
    assert client.post("/api/audit/events", json=body).status_code == 401
    assert client.post("/api/audit/events", json=body, headers=auth(tokens["viewer"])).status_code == 403
    made = client.post("/api/audit/events", json=body, headers=auth(tokens["operator"]))
    assert made.status_code == 201 and made.json()["action"] == "event:approval_skipped"
    bad = client.post("/api/audit/events", json={**body, "kind": "DROP"}, headers=auth(tokens["operator"]))
    assert bad.status_code == 422


def test_failure_callback_records_dag_task_run_and_error(
    client: TestClient, settings: Settings, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    from types import SimpleNamespace

    from pydantic import SecretStr

    import vidforge.alerts as alerts

    piped = settings.model_copy(update={"registry": settings.registry.model_copy(
        update={"token": SecretStr(tokens["operator"])})})
    ti = SimpleNamespace(dag_id="vidforge_train", task_id="stage2_video.pod", run_id="r1", try_number=2)
    context = {"ti": ti, "run_id": "r1", "exception": RuntimeError("pod failed: OOMKilled")}
    sent: list[dict[str, str]] = []

    def send(kind: str, details: dict[str, str], **_: object) -> bool:
        sent.append({"kind": kind, **details})
        return record_event(kind, details, settings=piped, client=client)

    monkeypatch.setattr(alerts, "record_event", send)
    on_task_failure(context)
    assert sent == [{"kind": "pipeline_failure", "dag_id": "vidforge_train", "task_id": "stage2_video.pod",
                     "run_id": "r1", "try_number": "2", "error": "RuntimeError: pod failed: OOMKilled"}]
    audit = client.get("/api/audit", headers=auth(tokens["viewer"])).json()
    assert audit[0]["action"] == "event:pipeline_failure" and audit[0]["actor"] == "operator"


def test_an_unreachable_registry_never_raises(settings: Settings) -> None:
    from pydantic import SecretStr

    offline = settings.model_copy(update={"registry": settings.registry.model_copy(
        update={"token": SecretStr("t"), "url": "http://127.0.0.1:9"})})
    assert record_event("pipeline_failure", {"dag_id": "d"}, settings=offline) is False
    assert record_event("pipeline_failure", {"dag_id": "d"}, settings=settings) is False  # no token
