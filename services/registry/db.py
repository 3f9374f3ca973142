"""Engines and Alembic for the registry database.

Alembic is driven in code (no ``alembic.ini``): :func:`alembic_config` points at
this package's ``migrations/`` directory and hands the live connection to
``env.py`` through ``Config.attributes["connection"]``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine, make_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_S = 30.0
"""How long a SQLite writer waits for another writer's lock before failing."""


def normalise_url(db_url: str) -> str:
    """Return ``db_url`` with PostgreSQL URLs pinned to the psycopg 3 driver.

    ``postgres://`` and ``postgresql://`` become ``postgresql+psycopg://``; any
    other URL (``sqlite:///...``, an explicit driver) is returned unchanged.

    Raises:
        ValueError: ``db_url`` is empty.
    """
    if not db_url:
        raise ValueError("registry db_url is empty")
    for prefix in ("postgres://", "postgresql://"):
        if db_url.startswith(prefix):
            return "postgresql+psycopg://" + db_url[len(prefix) :]
    return db_url


def _ensure_sqlite_dir(url: sa.URL) -> None:
    """Create the parent directory of a SQLite database file (not for ``:memory:``)."""
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def create_engine(db_url: str, *, foreign_keys: bool = True) -> Engine:
    """Build an engine for ``db_url`` (normalised, see :func:`normalise_url`).

    SQLite connections get ``PRAGMA foreign_keys`` set to ``foreign_keys`` and a
    busy timeout of :data:`SQLITE_BUSY_TIMEOUT_S`, and the file's directory is
    created; other backends get ``pool_pre_ping``. Migrations pass
    ``foreign_keys=False`` because SQLite batch mode recreates tables.

    On SQLite, SQLAlchemy (not the driver) begins transactions, so a connection
    with the execution option ``write_lock=True`` (see :func:`writer`) begins
    with ``BEGIN IMMEDIATE``: it takes the database's write lock before its first
    read, which makes read-check-write sequences (compare-and-set, the audit
    chain) serial across processes.
    """
    url = make_url(normalise_url(db_url))
    if url.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True)
    _ensure_sqlite_dir(url)
    engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
    pragma = f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}"

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver's implicit BEGIN off; see _on_begin
        cursor = dbapi_connection.cursor()
        cursor.execute(pragma)
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        immediate = connection.get_execution_options().get("write_lock", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def writer(engine: Engine) -> Engine:
    """``engine`` with the ``write_lock`` option: on SQLite its transactions begin IMMEDIATE."""
    return engine.execution_options(write_lock=True)


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An Alembic ``Config`` for the registry's migrations, optionally bound to ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _migrate(db_url: str, step: Callable[[Config, str], None], revision: str) -> None:
    """Run an Alembic ``step`` (upgrade or downgrade) to ``revision`` in one transaction."""
    engine = create_engine(db_url, foreign_keys=False)
    try:
        with engine.begin() as connection:
            step(alembic_config(connection), revision)
    finally:
        engine.dispose()


def upgrade(db_url: str, revision: str = "head") -> None:
    """Migrate the database at ``db_url`` to ``revision`` (default: the head).

    Safe to run repeatedly; an empty database is created from scratch.
    """
    _migrate(db_url, command.upgrade, revision)


def downgrade(db_url: str, revision: str) -> None:
    """Migrate the database at ``db_url`` down to ``revision`` (data of later revisions' tables is dropped)."""
    _migrate(db_url, command.downgrade, revision)


def current_revision(db_url: str) -> str | None:
    """The Alembic revision the database is at, or None for an unmigrated database."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str:
    """The head revision of the migrations shipped with this code."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships a revision
        raise RuntimeError(f"no Alembic revisions under {MIGRATIONS_DIR}")
    return head
