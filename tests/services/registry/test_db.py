"""Engine creation and Alembic helpers of services.registry.db."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from services.registry import db


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@h:5432/d", "postgresql+psycopg://u:p@h:5432/d"),
        ("postgres://h/d", "postgresql+psycopg://h/d"),
        ("postgresql+psycopg://h/d", "postgresql+psycopg://h/d"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_normalise_url_pins_psycopg(given: str, expected: str) -> None:
    assert db.normalise_url(given) == expected


def test_normalise_url_rejects_empty() -> None:
    with pytest.raises(ValueError, match="empty"):
        db.normalise_url("")


def test_sqlite_engine_enforces_foreign_keys_and_creates_the_directory(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "r.db"
    engine = db.create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert path.parent.is_dir()
    finally:
        engine.dispose()


def test_current_revision_goes_from_none_to_head(empty_db_url: str) -> None:
    assert db.current_revision(empty_db_url) is None
    db.upgrade(empty_db_url)
    assert db.current_revision(empty_db_url) == db.head_revision()
    db.upgrade(empty_db_url)  # idempotent
    assert db.current_revision(empty_db_url) == db.head_revision()


def test_upgrade_creates_every_table(empty_db_url: str) -> None:
    db.upgrade(empty_db_url)
    engine = db.create_engine(empty_db_url)
    try:
        names = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"registered_models", "model_versions", "model_aliases", "approvals", "audit_events"} <= names
