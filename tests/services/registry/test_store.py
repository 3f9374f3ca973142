"""RegistryStore behaviour on SQLite and PostgreSQL (see conftest ``db_url``)."""

from __future__ import annotations

import threading
from datetime import UTC

import pytest

from services.registry.errors import AlreadyExists, InvalidInput, NotFound, RegistryError
from services.registry.store import RegistryStore

SHA = "0123456789abcdef" * 4


def _version(store: RegistryStore, name: str = "m", **kwargs: object) -> int:
    return store.create_version(name, artifact_uri=f"s3://b/{name}", sha256=SHA, **kwargs).version  # type: ignore[arg-type]


def test_create_version_numbers_from_one_and_creates_the_model(store: RegistryStore) -> None:
    first = store.create_version(
        "vidforge-i2v",
        artifact_uri="s3://bucket/runs/r1/final",
        sha256=SHA.upper(),
        metrics={"fvd": 123, "clip": 0.25},
        dataset_version="ds-1",
        code_version="abc123",
        run_id="r1",
        created_by="alice",
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
    store.create_model("m", "desc", actor="bob")
    with pytest.raises(AlreadyExists) as info:
        store.create_model("m")
    assert (info.value.code, info.value.http_status) == ("already_exists", 409)
    assert store.get_model("m").description == "desc"


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.get_model("nope"),
        lambda s: s.list_versions("nope"),
        lambda s: s.get_version("m", 9),
        lambda s: s.get_version_by_alias("m", "production"),
        lambda s: s.delete_alias("m", "production"),
        lambda s: s.set_alias("m", "production", 9),
        lambda s: s.add_approval("m", 9, "alice", "approved"),
        lambda s: s.list_approvals("m", 9),
        lambda s: s.lineage("m", 9),
        lambda s: s.create_version("m", artifact_uri="x", sha256=SHA, parent_version=9),
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


def test_alias_is_created_moved_and_deleted(store: RegistryStore) -> None:
    for _ in range(2):
        _version(store)
    assert store.set_alias("m", "production", 1, actor="ops").aliases == ("production",)
    moved = store.set_alias("m", "production", 2, actor="ops")
    assert (moved.version, moved.aliases) == (2, ("production",))
    assert store.get_version_by_alias("m", "production").version == 2
    assert store.get_version("m", 1).aliases == ()
    store.set_alias("m", "candidate", 2)
    assert store.get_model("m").aliases == {"candidate": 2, "production": 2}
    assert store.get_version("m", 2).aliases == ("candidate", "production")
    event = store.audit_log("m", limit=2)[1]
    assert (event.action, event.actor, event.details) == (
        "set_alias",
        "ops",
        {"alias": "production", "from": 1, "to": 2},
    )
    store.delete_alias("m", "production", actor="ops")
    with pytest.raises(NotFound):
        store.get_version_by_alias("m", "production")
    assert store.get_model("m").aliases == {"candidate": 2}


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
    first = store.add_approval("m", 1, "alice", "rejected", "fvd too high")
    store.add_approval("m", 1, "bob", "approved")
    approvals = store.list_approvals("m", 1)
    assert [(a.approver, a.decision) for a in approvals] == [("alice", "rejected"), ("bob", "approved")]
    assert approvals[0] == first
    assert first.comment == "fvd too high"
    with pytest.raises(ValueError, match="decision"):
        store.add_approval("m", 1, "carol", "maybe")
    assert len(store.list_approvals("m", 1)) == 2


def test_every_mutation_is_audited_newest_first(store: RegistryStore) -> None:
    store.create_model("m", actor="alice")
    _version(store, created_by="ci")
    store.set_alias("m", "production", 1, actor="ops")
    store.add_approval("m", 1, "bob", "approved")
    store.delete_alias("m", "production", actor="ops")
    _version(store, "other")
    events = store.audit_log("m")
    assert [(e.action, e.actor, e.version) for e in events] == [
        ("delete_alias", "ops", 1),
        ("add_approval", "bob", 1),
        ("set_alias", "ops", 1),
        ("create_version", "ci", 1),
        ("create_model", "alice", None),
    ]
    assert events[3].details["sha256"] == SHA
    everything = store.audit_log()
    assert [e.name for e in everything[:2]] == ["other", "other"]
    assert len(everything) == 7
    assert [e.id for e in store.audit_log(limit=3)] == [e.id for e in everything[:3]]
    assert store.audit_log("never-registered") == []


@pytest.mark.parametrize(
    ("call", "needle"),
    [
        (lambda s: s.create_model(""), "name"),
        (lambda s: s.create_model("has space"), "name"),
        (lambda s: s.create_model("x" * 129), "name"),
        (lambda s: s.create_model("ok", actor=" "), "actor"),
        (lambda s: s.create_version("m", artifact_uri="x", sha256="abc"), "sha256"),
        (lambda s: s.create_version("m", artifact_uri="", sha256=SHA), "artifact_uri"),
        (lambda s: s.create_version("m", artifact_uri="x", sha256=SHA, metrics={"a": float("nan")}), "a"),
        (lambda s: s.create_version("m", artifact_uri="x", sha256=SHA, parent_version=0), "version"),
        (lambda s: s.get_version("m", True), "version"),
        (lambda s: s.set_alias("m", "bad/alias", 1), "alias"),
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
