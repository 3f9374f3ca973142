"""Alembic migrations: head matches the ORM, populated databases survive upgrades."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from services.registry import db
from services.registry.errors import SchemaOutOfDate
from services.registry.models import Base
from services.registry.store import RegistryStore
from tests.services.registry.conftest import OPS, POLICY

FIRST_REVISION = "0001"
SHA = "ab" * 32


def test_head_schema_has_no_diff_against_the_orm(empty_db_url: str) -> None:
    db.upgrade(empty_db_url)
    engine = db.create_engine(empty_db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_revisions_form_one_linear_chain() -> None:
    script = ScriptDirectory.from_config(db.alembic_config())
    revisions = list(script.walk_revisions())
    assert len(script.get_heads()) == 1
    assert revisions[-1].revision == FIRST_REVISION
    assert revisions[-1].down_revision is None


def test_store_refuses_an_unmigrated_database(empty_db_url: str) -> None:
    with pytest.raises(SchemaOutOfDate, match="vidforge registry upgrade") as info:
        RegistryStore(empty_db_url, POLICY)
    assert (info.value.code, info.value.http_status) == ("schema_out_of_date", 503)


def test_store_refuses_a_database_at_another_revision(empty_db_url: str) -> None:
    db.upgrade(empty_db_url)
    engine = db.create_engine(empty_db_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'ffff_from_newer_code'")
    finally:
        engine.dispose()
    with pytest.raises(SchemaOutOfDate, match="ffff_from_newer_code"):
        RegistryStore(empty_db_url, POLICY)


def test_open_upgrades_unless_told_not_to(empty_db_url: str) -> None:
    with pytest.raises(SchemaOutOfDate):
        RegistryStore.open(empty_db_url, POLICY, upgrade=False)
    store = RegistryStore.open(empty_db_url, POLICY)
    try:
        assert store.list_models() == []
    finally:
        store.dispose()


def _insert_first_revision_rows(url: str) -> None:
    """Rows written with the 0001 schema, as a deployed registry would hold them."""
    at = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    meta = sa.MetaData()
    engine = db.create_engine(url)
    try:
        meta.reflect(engine)
        with engine.begin() as conn:
            model_id = conn.execute(
                meta.tables["registered_models"].insert(),
                {"name": "m", "description": "d", "created_at": at},
            ).inserted_primary_key[0]
            version = {
                "model_id": model_id,
                "artifact_uri": "s3://b/k",
                "sha256": SHA,
                "metrics": {"fvd": 1.5},
                "dataset_version": "ds",
                "code_version": "c",
                "run_id": "r",
                "created_by": "ci",
                "created_at": at,
                "description": "",
            }
            versions = meta.tables["model_versions"]
            conn.execute(versions.insert(), {**version, "version": 1, "parent_version": None})
            conn.execute(versions.insert(), {**version, "version": 2, "parent_version": 1})
            alias = {"model_id": model_id, "alias": "production", "version": 2}
            conn.execute(meta.tables["model_aliases"].insert(), alias)
            approval = {"approver": "a", "decision": "approved", "comment": "", "created_at": at}
            conn.execute(meta.tables["approvals"].insert(), {"model_id": model_id, "version": 2, **approval})
            conn.execute(versions.insert(), {**version, "version": 3, "parent_version": 2})  # run "r" again
            event = {"actor": "ci", "action": "create_version", "model_name": "m", "details": {}}
            for number in (1, 2, 3):
                conn.execute(meta.tables["audit_events"].insert(), {"at": at, "version": number, **event})
    finally:
        engine.dispose()


def test_upgrading_a_populated_database_keeps_its_rows(empty_db_url: str) -> None:
    db.upgrade(empty_db_url, FIRST_REVISION)
    _insert_first_revision_rows(empty_db_url)
    db.upgrade(empty_db_url)
    store = RegistryStore(empty_db_url, POLICY)
    try:
        model = store.get_model("m")
        assert (model.aliases, model.protected_aliases) == ({"production": 2}, ("production",))
        assert [(v.version, v.parent_version) for v in store.lineage("m", 2)] == [(2, 1), (1, None)]
        second = store.get_version("m", 2)
        assert (second.metrics, second.sha256, second.created_at, second.gate_passed) == (
            {"fvd": 1.5},
            SHA,
            datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
            None,
        )
        assert [v.run_id for v in store.list_versions("m")] == ["r", "r#v2", "r#v3"]  # one version per run
        assert [a.decision for a in store.list_approvals("m", 2)] == ["approved"]
        assert [e.version for e in store.audit_log("m")] == [3, 2, 1]
        report = store.verify_audit()
        assert (report.ok, report.checked) == (True, 3)
        assert store.create_version("m", OPS, artifact_uri="s3://b/k4", sha256=SHA).version == 4
        assert store.verify_audit().ok
    finally:
        store.dispose()


def test_downgrade_and_upgrade_again_with_data(empty_db_url: str) -> None:
    db.upgrade(empty_db_url, FIRST_REVISION)
    _insert_first_revision_rows(empty_db_url)
    db.upgrade(empty_db_url)
    store = RegistryStore(empty_db_url, POLICY)
    try:
        store.set_tag("m", 1, "team", "video", OPS)
        store.create_token("admin", "admin", None)
    finally:
        store.dispose()
    db.downgrade(empty_db_url, FIRST_REVISION)
    assert db.current_revision(empty_db_url) == FIRST_REVISION
    engine = db.create_engine(empty_db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM model_versions")).scalar() == 3
            assert conn.execute(sa.text("SELECT count(*) FROM audit_events")).scalar() == 5
            tables = set(sa.inspect(conn).get_table_names())
        assert not tables & {"api_tokens", "model_tags", "audit_head", "webhooks", "webhook_deliveries"}
    finally:
        engine.dispose()
    db.upgrade(empty_db_url)
    store = RegistryStore(empty_db_url, POLICY)
    try:
        report = store.verify_audit()
        assert (report.ok, report.checked) == (True, 5)  # re-chained in id order
        assert len(store.list_versions("m")) == 3
    finally:
        store.dispose()

