"""The audit hash chain detects direct edits and deletions in the database, on both backends."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import sqlalchemy as sa

from services.registry.chain import GENESIS, record_hash, verify
from services.registry.store import RegistryStore
from tests.services.registry.conftest import ALICE, OPS

SHA = "ef" * 32


def _history(store: RegistryStore) -> None:
    store.create_version("m", OPS, artifact_uri="s3://b/1", sha256=SHA, gate_passed=True)
    store.set_tag("m", 1, "k", "v", OPS)
    store.add_approval("m", 1, ALICE, "approved", "ok")
    store.set_alias("m", "production", 1, ALICE, expected_version=None)


def _sql(url: str, statement: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def test_record_hash_is_content_and_predecessor() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    fields = {"id": 1, "at": at, "actor": "a", "action": "x", "model_name": "m", "version": None,
              "details": {"b": 1, "a": [1, 2]}, "prev_hash": GENESIS}
    digest = record_hash(**fields)
    assert digest == record_hash(**{**fields, "details": {"a": [1, 2], "b": 1}})  # key order is irrelevant
    assert digest != record_hash(**{**fields, "actor": "b"})
    assert digest != record_hash(**{**fields, "prev_hash": "1" * 64})
    assert verify([{**fields, "hash": digest}], 1, digest).ok
    assert verify([], 0, GENESIS).ok


def test_an_intact_chain_verifies(store: RegistryStore) -> None:
    _history(store)
    report = store.verify_audit()
    assert (report.ok, report.checked, report.head_id) == (True, 5, 5)
    events = list(reversed(store.audit_log()))
    assert events[0].prev_hash == GENESIS
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(events))


def test_an_edited_field_is_named(db_url: str, store: RegistryStore) -> None:
    _history(store)
    _sql(db_url, "UPDATE audit_events SET actor = 'mallory' WHERE id = 4")
    report = store.verify_audit()
    assert (report.ok, report.broken_id, report.checked) == (False, 4, 3)
    assert "content does not match its hash" in report.reason


def test_an_edit_with_a_recomputed_hash_breaks_the_next_record(db_url: str, store: RegistryStore) -> None:
    _history(store)
    forged = store.audit_log()[-2]  # record 2
    new_hash = record_hash(id=2, at=forged.at, actor="mallory", action=forged.action, model_name=forged.name,
                           version=forged.version, details=forged.details, prev_hash=forged.prev_hash)
    _sql(db_url, f"UPDATE audit_events SET actor = 'mallory', hash = '{new_hash}' WHERE id = 2")
    report = store.verify_audit()
    assert (report.ok, report.broken_id) == (False, 3) and "prev_hash" in report.reason


def test_deleted_records_are_caught_in_the_middle_and_at_the_end(db_url: str, store: RegistryStore) -> None:
    _history(store)
    _sql(db_url, "DELETE FROM audit_events WHERE id = 5")
    report = store.verify_audit()
    assert (report.ok, report.broken_id) == (False, 5) and "deleted" in report.reason
    _sql(db_url, "DELETE FROM audit_events WHERE id = 2")
    report = store.verify_audit()
    assert (report.ok, report.broken_id) == (False, 2) and "missing" in report.reason
