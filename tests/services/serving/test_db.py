"""The serving migrations: head matches the ORM, own version table, shares a database with the registry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from services.registry import db as registry_db
from services.registry.models import Base as RegistryBase
from services.serving import db
from services.serving.errors import SchemaOutOfDateError
from services.serving.models import Base
from services.serving.store import JobStore
from tests.services.registry.conftest import fresh_pg_database


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with fresh_pg_database(request.getfixturevalue("pg_url")) as url:
        yield url


def _diff(url: str, metadata: sa.MetaData, **opts: object) -> list[object]:
    engine = db.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True, **opts}),
                                         metadata))
    finally:
        engine.dispose()


def test_head_schema_has_no_diff_against_the_orm(empty_url: str) -> None:
    db.upgrade(empty_url)
    assert db.current_revision(empty_url) == db.head_revision()
    assert _diff(empty_url, Base.metadata, version_table=db.VERSION_TABLE, include_object=db.include_object) == []


def test_revisions_form_one_linear_chain() -> None:
    script = ScriptDirectory.from_config(db.alembic_config())
    revisions = list(script.walk_revisions())
    assert len(script.get_heads()) == 1 and revisions[-1].down_revision is None


def test_serving_and_registry_share_one_database(empty_url: str) -> None:
    registry_db.upgrade(empty_url)
    db.upgrade(empty_url)
    engine = db.create_engine(empty_url)
    try:
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()
    assert {"alembic_version", db.VERSION_TABLE, "serving_jobs", "model_versions"} <= tables
    assert registry_db.current_revision(empty_url) == registry_db.head_revision()
    assert db.current_revision(empty_url) == db.head_revision()
    # each side's schema is exactly its ORM, the other's tables are ignored
    assert _diff(empty_url, Base.metadata, version_table=db.VERSION_TABLE, include_object=db.include_object) == []
    registry_only = [d for d in _diff(empty_url, RegistryBase.metadata) if "serving_" not in repr(d)]
    assert registry_only == []
    db.downgrade(empty_url, "base")  # dropping serving leaves the registry alone
    assert db.current_revision(empty_url) is None
    assert registry_db.current_revision(empty_url) == registry_db.head_revision()


def test_store_refuses_an_unmigrated_database(empty_url: str) -> None:
    with pytest.raises(SchemaOutOfDateError, match="vidforge serving upgrade") as info:
        JobStore.open(empty_url, upgrade=False)
    assert info.value.http_status == 503
    store = JobStore.open(empty_url)  # upgrade=True migrates first
    try:
        assert store.depth() == 0
    finally:
        store.dispose()


def test_upgrading_twice_is_harmless(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    db.upgrade(url)
    db.upgrade(url)
    assert db.current_revision(url) == db.head_revision()


def test_sqlite_job_database_runs_in_wal_mode(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'wal.db'}"
    engine = db.create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()
