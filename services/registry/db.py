"""Engines and Alembic for the registry database.

Engines and the in-code Alembic driver are the platform's (:mod:`vidforge.db`);
this module binds them to the registry's ``migrations/`` directory.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config

from vidforge.db import Migrations, create_engine, normalise_url, writer

__all__ = [
    "MIGRATIONS",
    "alembic_config",
    "create_engine",
    "current_revision",
    "downgrade",
    "head_revision",
    "normalise_url",
    "upgrade",
    "writer",
]

MIGRATIONS = Migrations(directory=Path(__file__).resolve().parent / "migrations")


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An Alembic ``Config`` for the registry's migrations, optionally bound to ``connection``."""
    return MIGRATIONS.config(connection)


def upgrade(db_url: str, revision: str = "head") -> None:
    """Migrate the database at ``db_url`` to ``revision`` (default: the head).

    Safe to run repeatedly; an empty database is created from scratch.
    """
    MIGRATIONS.upgrade(db_url, revision)


def downgrade(db_url: str, revision: str) -> None:
    """Migrate the database at ``db_url`` down to ``revision`` (data of later revisions' tables is dropped)."""
    MIGRATIONS.downgrade(db_url, revision)


def current_revision(db_url: str) -> str | None:
    """The Alembic revision the database is at, or None for an unmigrated database."""
    return MIGRATIONS.current_revision(db_url)


def head_revision() -> str:
    """The head revision of the migrations shipped with this code."""
    return MIGRATIONS.head_revision()
