"""RegistryStore behaviour on SQLite and PostgreSQL (see conftest ``db_url``)."""

from __future__ import annotations

import threading
from datetime import UTC

import pytest

from services.registry.errors import AlreadyExists, InvalidInput, NotFound, RegistryError
from services.registry.store import RegistryStore
from tests.services.registry.conftest import ALICE, BOB, OPS
from vidforge.identity import Principal, Role

SHA = "0123456789abcdef" * 4


def _version(store: RegistryStore, name: str = "m", who: Principal = OPS, **kwargs: object) -> int:
    return store.create_version(name, who, artifact_uri=f"s3://b/{name}", sha256=SHA, **kwargs).version  # type: ignore[arg-type]


def test_create_version_numbers_from_one_and_creates_the_model(store: RegistryStore) -> None:
    first = store.create_version(
        "vidforge-i2v",
        Principal("alice", Role.OPERATOR),
        artifact_uri="s3://bucket/runs/r1/final",
        sha256=SHA.upper(),
        metrics={"fvd": 123, "clip": 0.25},
        dataset_version="ds-1",
        code_version="abc123",
        run_id="r1",
        description="first",
    )
    assert [first.version, _version(store, "vidforge-i2v"), _version(store, "vidforge-i2v")] == [1, 2, 3]
    assert first.sha256 == SHA
    assert first.metrics == {"fvd": 123.0, "clip": 0.25}
    assert first.created_at.tzinfo == UTC
    again = store.get_version("vidforge-i2v", 1)
    assert again == first
    assert isinstance(again.metrics["fvd"], float)
    model = store.get_model("vidforge-i2v")
    assert (model.name, model.aliases) == ("vidforge-i2v", {})
    assert [v.version for v in store.list_versions("vidforge-i2v")] == [1, 2, 3]


def test_versions_are_numbered_per_model(store: RegistryStore) -> None:
    assert [_version(store, "a"), _version(store, "b"), _version(store, "a")] == [1, 1, 2]
    assert [m.name for m in store.list_models()] == ["a", "b"]


def test_concurrent_writers_get_distinct_consecutive_versions(store: RegistryStore) -> None:
    threads, per_thread = 4, 5
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []
    got: list[int] = []

    def writer() -> None:
        try:
            barrier.wait()
            for _ in range(per_thread):
                got.append(_version(store, "race"))
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=writer) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert errors == []
    assert sorted(got) == list(range(1, threads * per_thread + 1))
    assert [v.version for v in store.list_versions("race")] == sorted(got)
    audit = store.audit_log("race", limit=1000)
    assert sorted(e.version for e in audit if e.action == "create_version") == sorted(got)
    assert [e.action for e in audit].count("create_model") == 1


def test_create_model_twice_is_already_exists(store: RegistryStore) -> None:
    store.create_model("m", OPS, "desc")
    with pytest.raises(AlreadyExists) as info:
        store.create_model("m", OPS)
    assert (info.value.code, info.value.http_status) == ("already_exists", 409)
    assert store.get_model("m").description == "desc"


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.get_model("nope"),
        lambda s: s.list_versions("nope"),
        lambda s: s.get_version("m", 9),
        lambda s: s.get_version_by_alias("m", "production"),
        lambda s: s.delete_alias("m", "production", ALICE, expected_version=1),
        lambda s: s.set_alias("m", "production", 9, ALICE, expected_version=None),
        lambda s: s.add_approval("m", 9, ALICE, "approved"),
        lambda s: s.list_approvals("m", 9),
        lambda s: s.lineage("m", 9),
        lambda s: s.set_tag("m", 9, "k", "v", OPS),
        lambda s: s.delete_tag("m", 1, "k", OPS),
        lambda s: s.create_version("m", OPS, artifact_uri="s3://b/x", sha256=SHA, parent_version=9),
    ],
)
def test_missing_things_raise_not_found_and_write_nothing(store: RegistryStore, call: object) -> None:
    _version(store)
    before = store.audit_log()
    with pytest.raises(NotFound) as info:
        call(store)  # type: ignore[operator]
    assert (info.value.code, info.value.http_status) == ("not_found", 404)
    assert store.audit_log() == before
    assert [v.version for v in store.list_versions("m")] == [1]


def test_unprotected_alias_is_created_moved_and_deleted_by_compare_and_set(store: RegistryStore) -> None:
    for _ in range(2):
        _version(store)
    assert store.set_alias("m", "candidate", 1, OPS, expected_version=None).aliases == ("candidate",)
    moved = store.set_alias("m", "candidate", 2, OPS, expected_version=1)
    assert (moved.version, moved.aliases) == (2, ("candidate",))
    assert store.get_version_by_alias("m", "candidate").version == 2
    assert store.get_version("m", 1).aliases == ()
    store.set_alias("m", "staging", 2, OPS, expected_version=None)
    assert store.get_model("m").aliases == {"candidate": 2, "staging": 2}
    assert store.get_version("m", 2).aliases == ("candidate", "staging")
    event = store.audit_log("m", limit=2)[1]
    assert (event.action, event.actor, event.details) == (
        "set_alias",
        "ops",
        {"alias": "candidate", "from": 1, "to": 2, "protected": False},
    )
    store.delete_alias("m", "candidate", OPS, expected_version=2)
    with pytest.raises(NotFound):
        store.get_version_by_alias("m", "candidate")
    assert store.get_model("m").aliases == {"staging": 2}


def test_tags_are_set_changed_and_removed_with_audit(store: RegistryStore) -> None:
    _version(store)
    assert store.set_tag("m", 1, "team", "video", OPS).tags == {"team": "video"}
    store.set_tag("m", 1, "team", "research", OPS)
    assert store.get_version("m", 1).tags == {"team": "research"}
    assert store.list_versions("m")[0].tags == {"team": "research"}
    store.delete_tag("m", 1, "team", OPS)
    assert store.get_version("m", 1).tags == {}
    changes = [(e.action, e.details["before"], e.details["after"]) for e in store.audit_log("m", limit=3)]
    assert changes == [("delete_tag", "research", None), ("set_tag", "video", "research"), ("set_tag", None, "video")]


def test_register_is_idempotent_per_run(store: RegistryStore) -> None:
    first, created = store.register_version("m", OPS, artifact_uri="s3://b/r1", sha256=SHA, run_id="r1")
    again, created_again = store.register_version("m", OPS, artifact_uri="s3://b/r1", sha256=SHA, run_id="r1")
    assert (created, created_again, again) == (True, False, first)
    with pytest.raises(AlreadyExists, match="run 'r1' is already registered as m v1"):
        store.register_version("m", OPS, artifact_uri="s3://b/other", sha256=SHA, run_id="r1")
    assert [v.version for v in store.list_versions("m")] == [1]
    assert _version(store) == 2 and _version(store) == 3  # no run id: always a new version


def test_lineage_walks_parents(store: RegistryStore) -> None:
    _version(store)
    _version(store, parent_version=1)
    _version(store, parent_version=2)
    _version(store, parent_version=1)
    assert [v.version for v in store.lineage("m", 3)] == [3, 2, 1]
    assert [v.version for v in store.lineage("m", 4)] == [4, 1]
    assert [v.version for v in store.lineage("m", 1)] == [1]
    assert store.get_version("m", 3).parent_version == 2


def test_approvals_are_recorded_in_order(store: RegistryStore) -> None:
    _version(store)
    first = store.add_approval("m", 1, ALICE, "rejected", "fvd too high")
    store.add_approval("m", 1, BOB, "approved")
    approvals = store.list_approvals("m", 1)
    assert [(a.approver, a.decision) for a in approvals] == [("alice", "rejected"), ("bob", "approved")]
    assert approvals[0] == first
    assert first.comment == "fvd too high"
    with pytest.raises(ValueError, match="decision"):
        store.add_approval("m", 1, BOB, "maybe")
    assert len(store.list_approvals("m", 1)) == 2


def test_every_mutation_is_audited_newest_first(store: RegistryStore) -> None:
    store.create_model("m", Principal("alice", Role.OPERATOR))
    _version(store, who=Principal("ci", Role.OPERATOR), gate_passed=True)
    store.add_approval("m", 1, BOB, "approved")
    store.set_alias("m", "production", 1, ALICE, expected_version=None)
    store.delete_alias("m", "production", ALICE, expected_version=1)
    _version(store, "other")
    events = store.audit_log("m")
    assert [(e.action, e.actor, e.version) for e in events] == [
        ("delete_alias", "alice", 1),
        ("set_alias", "alice", 1),
        ("add_approval", "bob", 1),
        ("create_version", "ci", 1),
        ("create_model", "alice", None),
    ]
    assert events[3].details["after"]["sha256"] == SHA
    everything = store.audit_log()
    assert [e.name for e in everything[:2]] == ["other", "other"]
    assert len(everything) == 7
    assert [e.id for e in store.audit_log(limit=3)] == [e.id for e in everything[:3]]
    assert store.audit_log("never-registered") == []


@pytest.mark.parametrize(
    ("call", "needle"),
    [
        (lambda s: s.create_model("", OPS), "name"),
        (lambda s: s.create_model("has space", OPS), "name"),
        (lambda s: s.create_model("x" * 129, OPS), "name"),
        (lambda s: s.create_version("m", OPS, artifact_uri="s3://b/x", sha256="abc"), "sha256"),
        (lambda s: s.create_version("m", OPS, artifact_uri="", sha256=SHA), "artifact_uri"),
        (lambda s: s.create_version("m", OPS, artifact_uri="s3://b/x", sha256=SHA, metrics={"a": float("nan")}), "a"),
        (lambda s: s.create_version("m", OPS, artifact_uri="s3://b/x", sha256=SHA, parent_version=0), "version"),
        (lambda s: s.create_version("m", OPS, artifact_uri="s3://b/x", sha256=SHA, parent_version=2**31), "version"),
        (lambda s: s.create_version("m", OPS, artifact_uri="s3://b/x", sha256=SHA, gate_passed="yes"), "gate"),
        (lambda s: s.create_version("m", OPS, artifact_uri="s3://b/x", sha256=SHA, description="x" * 10_001),
         "description"),
        (lambda s: s.create_version("m", OPS, artifact_uri="s3://b/x", sha256=SHA,
                                    metrics={f"m{i}": 1.0 for i in range(257)}), "metrics"),
        (lambda s: s.get_version("m", True), "version"),
        (lambda s: s.get_version("m", "1"), "version"),
        (lambda s: s.set_alias("m", "bad/alias", 1, ALICE, expected_version=None), "alias"),
        (lambda s: s.set_alias("m", "production", 1, ALICE, expected_version=True), "expected_version"),
        (lambda s: s.rollback("m", "production", 1, ALICE, expected_version=None, reason=" "), "reason"),
        (lambda s: s.set_tag("m", 1, "bad key", "v", OPS), "tag key"),
        (lambda s: s.set_tag("m", 1, "k", "v" * 4097, OPS), "longer"),
        (lambda s: s.audit_log(limit=0), "limit"),
    ],
)
def test_invalid_input_is_rejected_before_any_write(store: RegistryStore, call: object, needle: str) -> None:
    with pytest.raises(InvalidInput, match=needle) as info:
        call(store)  # type: ignore[operator]
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, RegistryError)
    assert (info.value.code, info.value.http_status) == ("invalid_input", 422)
    assert store.list_models() == []
    assert store.audit_log() == []
