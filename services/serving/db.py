"""Engines and Alembic for the job database (``settings.serving.db_url``).

The serving tables have their own migrations (``migrations/``) and their own
version table, :data:`VERSION_TABLE`, so the service can share a PostgreSQL
database with the registry without either touching the other's schema. Engines
come from :func:`services.registry.db.create_engine` (URL normalisation, SQLite
busy timeout and ``BEGIN IMMEDIATE`` writers); SQLite files additionally run in
WAL mode so readers never wait for a writer (two replicas on one host share a
file). Concurrent upgrades (replicas starting together) are serialised on
PostgreSQL with an advisory lock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from services.registry import db as registry_db
from services.serving.models import TABLE_PREFIX

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "serving_alembic_version"
_UPGRADE_LOCK = 0x7669_6466_7365_7276  # "vidfserv": advisory-lock key of upgrades


def create_engine(db_url: str, *, foreign_keys: bool = True) -> Engine:
    """An engine on ``db_url`` (see the module docstring)."""
    engine = registry_db.create_engine(db_url, foreign_keys=foreign_keys)
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):

        @sa.event.listens_for(engine, "connect")
        def _wal(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

    return engine


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic filter: only serving tables (``serving_*``, and what hangs off them) are compared."""
    if type_ == "table":
        return bool(name and name.startswith(TABLE_PREFIX))
    return True


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An Alembic ``Config`` for the serving migrations, optionally bound to ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(db_url: str, revision: str = "head") -> None:
    """Migrate the job database at ``db_url`` to ``revision``; safe to repeat and to race."""
    engine = create_engine(db_url, foreign_keys=False)
    try:
        with registry_db.writer(engine).begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_UPGRADE_LOCK})")
            command.upgrade(alembic_config(connection), revision)
    finally:
        engine.dispose()


def downgrade(db_url: str, revision: str) -> None:
    """Migrate down to ``revision`` (``base``: drop every serving table)."""
    engine = create_engine(db_url, foreign_keys=False)
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), revision)
    finally:
        engine.dispose()


def revision_of(connection: sa.Connection) -> str | None:
    """The serving revision of the database behind ``connection`` (None: never migrated)."""
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def current_revision(db_url: str) -> str | None:
    """The serving revision of the database at ``db_url``."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            return revision_of(connection)
    finally:
        engine.dispose()


def head_revision() -> str:
    """The head revision of the serving migrations shipped with this code."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships a revision
        raise RuntimeError(f"no Alembic revisions under {MIGRATIONS_DIR}")
    return head
