"""Governance rules, enforced by the store on SQLite and PostgreSQL: roles, four eyes, protected aliases, CAS."""

from __future__ import annotations

import threading

import pytest

from services.registry.errors import AliasConflict, Forbidden, RuleViolation
from services.registry.store import RegistryStore
from tests.services.registry.conftest import ADMIN, ALICE, BOB, OPS, POLICY, VIEWER

SHA = "cd" * 32


def _candidate(store: RegistryStore, gate: bool | None = True, run: str = "") -> int:
    return store.create_version("m", OPS, artifact_uri="s3://b/m", sha256=SHA, gate_passed=gate, run_id=run).version


def test_roles_are_checked_for_every_change(store: RegistryStore) -> None:
    with pytest.raises(Forbidden, match="needs the operator role; 'vic' has the viewer role"):
        store.create_version("m", VIEWER, artifact_uri="s3://b/m", sha256=SHA)
    _candidate(store)
    with pytest.raises(Forbidden, match="reviewing a version needs the approver role"):
        store.add_approval("m", 1, OPS, "approved")
    with pytest.raises(Forbidden, match="moving alias 'production' needs the approver role"):
        store.set_alias("m", "production", 1, OPS, expected_version=None)
    with pytest.raises(Forbidden, match="changing model settings needs the admin role"):
        store.update_model("m", ALICE, protected_aliases=[])
    assert [e.action for e in store.audit_log("m")] == ["create_version", "create_model"]


def test_four_eyes_refuses_reviewing_your_own_version(store: RegistryStore) -> None:
    store.create_version("m", ALICE, artifact_uri="s3://b/m", sha256=SHA, gate_passed=True)
    with pytest.raises(RuleViolation, match="four eyes: 'alice' registered m v1 and cannot review it"):
        store.add_approval("m", 1, ALICE, "approved")
    with pytest.raises(RuleViolation, match="no approval by an identity other than its registrant 'alice'"):
        store.set_alias("m", "production", 1, ALICE, expected_version=None)
    store.add_approval("m", 1, BOB, "approved", "lgtm")
    assert store.set_alias("m", "production", 1, ALICE, expected_version=None).aliases == ("production",)


@pytest.mark.parametrize(("gate", "needle"), [(None, "no gate result is recorded"), (False, "gate failed")])
def test_protected_alias_needs_a_passing_gate(store: RegistryStore, gate: bool | None, needle: str) -> None:
    _candidate(store, gate)
    store.add_approval("m", 1, ALICE, "approved")
    with pytest.raises(RuleViolation, match=needle):
        store.set_alias("m", "production", 1, BOB, expected_version=None)
    assert store.promotion_blockers("m", 1) and store.get_model("m").aliases == {}


def test_a_later_rejection_withdraws_an_approval(store: RegistryStore) -> None:
    _candidate(store)
    store.add_approval("m", 1, ALICE, "approved")
    assert store.promotion_blockers("m", 1) == []
    store.add_approval("m", 1, BOB, "rejected", "artefacts in frame 3")
    with pytest.raises(RuleViolation, match="latest review is a rejection by 'bob' \\(artefacts in frame 3\\)"):
        store.set_alias("m", "production", 1, ALICE, expected_version=None)


def test_protection_is_a_model_setting(store: RegistryStore) -> None:
    _candidate(store, gate=None)
    assert store.get_model("m").protected_aliases == ("production",)
    store.update_model("m", ADMIN, protected_aliases=["production", "staging"])
    with pytest.raises(RuleViolation):
        store.set_alias("m", "staging", 1, ALICE, expected_version=None)
    store.update_model("m", ADMIN, protected_aliases=[])
    store.set_alias("m", "production", 1, OPS, expected_version=None)  # unprotected now: an operator may
    event = store.audit_log("m", limit=1)[0]
    assert event.details["protected"] is False
    change = next(e for e in store.audit_log("m") if e.action == "update_model")
    assert (change.actor, change.details["before"]["protected_aliases"], change.details["after"]["protected_aliases"]) \
        == ("root", ["production", "staging"], [])


def test_compare_and_set_refuses_a_stale_expectation(store: RegistryStore) -> None:
    for _ in range(3):
        _candidate(store)
    store.set_alias("m", "candidate", 1, OPS, expected_version=None)
    store.set_alias("m", "candidate", 2, OPS, expected_version=1)
    with pytest.raises(AliasConflict, match="m:candidate points at v2, the request expected v1") as info:
        store.set_alias("m", "candidate", 3, OPS, expected_version=1)
    assert (info.value.code, info.value.http_status) == ("alias_conflict", 409)
    with pytest.raises(AliasConflict, match="expected unset"):
        store.set_alias("m", "candidate", 3, OPS, expected_version=None)
    with pytest.raises(AliasConflict):
        store.delete_alias("m", "candidate", OPS, expected_version=1)
    assert store.get_model("m").aliases == {"candidate": 2}


def test_racing_moves_exactly_one_wins_and_the_audit_matches(db_url: str, store: RegistryStore) -> None:
    racers = 8
    for _ in range(racers):
        _candidate(store)
        store.add_approval("m", store.list_versions("m")[-1].version, ALICE, "approved")
    stores = [RegistryStore(db_url, POLICY) for _ in range(racers)]  # one engine (and connection) each
    barrier = threading.Barrier(racers)
    outcomes: list[str] = []

    def move(i: int) -> None:
        barrier.wait()
        try:
            stores[i].set_alias("m", "production", i + 1, BOB, expected_version=None)
            outcomes.append(f"won:{i + 1}")
        except AliasConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=move, args=(i,)) for i in range(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for s in stores:
        s.dispose()
    winners = [o for o in outcomes if o.startswith("won")]
    assert len(outcomes) == racers and len(winners) == 1
    final = store.get_version_by_alias("m", "production").version
    assert winners == [f"won:{final}"]
    moves = [e for e in store.audit_log("m") if e.action == "set_alias"]
    assert [(e.details["from"], e.details["to"]) for e in moves] == [(None, final)]
    assert store.verify_audit().ok


def test_rollback_goes_back_to_a_previous_version_with_a_reason(store: RegistryStore) -> None:
    for _ in range(3):
        _candidate(store)
    for v in (1, 2, 3):
        store.add_approval("m", v, ALICE, "approved")
    store.set_alias("m", "production", 1, BOB, expected_version=None)
    store.set_alias("m", "production", 2, BOB, expected_version=1)
    with pytest.raises(RuleViolation, match="never pointed at v3"):
        store.rollback("m", "production", 3, BOB, expected_version=2, reason="x")
    with pytest.raises(RuleViolation, match="already points at v2"):
        store.rollback("m", "production", 2, BOB, expected_version=2, reason="x")
    store.add_approval("m", 1, ALICE, "rejected", "found a licence problem")
    with pytest.raises(RuleViolation, match="licence problem"):
        store.rollback("m", "production", 1, BOB, expected_version=2, reason="v2 flickers")
    store.add_approval("m", 1, ALICE, "approved", "licence cleared")
    back = store.rollback("m", "production", 1, BOB, expected_version=2, reason="v2 flickers")
    assert back.version == 1
    event = store.audit_log("m", limit=1)[0]
    assert (event.action, event.actor, event.details) == (
        "rollback", "bob", {"alias": "production", "from": 2, "to": 1, "protected": True, "reason": "v2 flickers"})
