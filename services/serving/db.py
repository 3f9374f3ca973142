"""Engines and Alembic for the job database (``settings.serving.db_url``).

The serving tables have their own migrations (``migrations/``) and their own
version table, :data:`VERSION_TABLE`, so the service can share a PostgreSQL
database with the registry without either touching the other's schema. Engines
are the platform's (:func:`vidforge.db.create_engine`: URL normalisation, SQLite
busy timeout and ``BEGIN IMMEDIATE`` writers); SQLite files additionally run in
WAL mode so readers never wait for a writer (two replicas on one host share a
file). Concurrent upgrades (replicas starting together) are serialised on
PostgreSQL with an advisory lock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.config import Config
from sqlalchemy.engine import Engine

from services.serving.models import TABLE_PREFIX
from vidforge import db as platform_db

VERSION_TABLE = "serving_alembic_version"
_UPGRADE_LOCK = 0x7669_6466_7365_7276  # "vidfserv": advisory-lock key of upgrades


def create_engine(db_url: str, *, foreign_keys: bool = True) -> Engine:
    """An engine on ``db_url`` (see the module docstring)."""
    return platform_db.create_engine(db_url, foreign_keys=foreign_keys, wal=True)


MIGRATIONS = platform_db.Migrations(
    directory=Path(__file__).resolve().parent / "migrations",
    engine_factory=create_engine,
    version_table=VERSION_TABLE,
    upgrade_lock=_UPGRADE_LOCK,
)


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic filter: only serving tables (``serving_*``, and what hangs off them) are compared."""
    if type_ == "table":
        return bool(name and name.startswith(TABLE_PREFIX))
    return True


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An Alembic ``Config`` for the serving migrations, optionally bound to ``connection``."""
    return MIGRATIONS.config(connection)


def upgrade(db_url: str, revision: str = "head") -> None:
    """Migrate the job database at ``db_url`` to ``revision``; safe to repeat and to race."""
    MIGRATIONS.upgrade(db_url, revision)


def downgrade(db_url: str, revision: str) -> None:
    """Migrate down to ``revision`` (``base``: drop every serving table)."""
    MIGRATIONS.downgrade(db_url, revision)


def revision_of(connection: sa.Connection) -> str | None:
    """The serving revision of the database behind ``connection`` (None: never migrated)."""
    return MIGRATIONS.revision_of(connection)


def current_revision(db_url: str) -> str | None:
    """The serving revision of the database at ``db_url``."""
    return MIGRATIONS.current_revision(db_url)


def head_revision() -> str:
    """The head revision of the serving migrations shipped with this code."""
    return MIGRATIONS.head_revision()
