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
        RegistryStore(empty_db_url)
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
        RegistryStore(empty_db_url)


def test_open_upgrades_unless_told_not_to(empty_db_url: str) -> None:
    with pytest.raises(SchemaOutOfDate):
        RegistryStore.open(empty_db_url, upgrade=False)
    store = RegistryStore.open(empty_db_url)
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
            event = {"actor": "ci", "action": "create_version", "model_name": "m", "version": 2, "details": {}}
            conn.execute(meta.tables["audit_events"].insert(), {"at": at, **event})
    finally:
        engine.dispose()


def test_upgrading_a_populated_database_keeps_its_rows(empty_db_url: str) -> None:
    db.upgrade(empty_db_url, FIRST_REVISION)
    _insert_first_revision_rows(empty_db_url)
    db.upgrade(empty_db_url)
    store = RegistryStore(empty_db_url)
    try:
        assert store.get_model("m").aliases == {"production": 2}
        assert [(v.version, v.parent_version) for v in store.lineage("m", 2)] == [(2, 1), (1, None)]
        second = store.get_version("m", 2)
        assert (second.metrics, second.sha256, second.created_at) == (
            {"fvd": 1.5},
            SHA,
            datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        )
        assert [a.decision for a in store.list_approvals("m", 2)] == ["approved"]
        assert [e.action for e in store.audit_log("m")] == ["create_version"]
        assert store.create_version("m", artifact_uri="s3://b/k3", sha256=SHA).version == 3
    finally:
        store.dispose()
