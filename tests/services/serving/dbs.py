"""Job databases for serving tests: migrated SQLite files and a session-private PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.serving import db
from tests.services.registry.conftest import fresh_pg_database

BACKENDS = ["sqlite", "postgresql"]
TABLES = ("serving_job_inputs", "serving_jobs", "serving_tokens")


@pytest.fixture(scope="session")
def pg_jobs_url(pg_url: str) -> Iterator[str]:
    """A PostgreSQL database for this session, with the serving tables at head."""
    with fresh_pg_database(pg_url) as url:
        db.upgrade(url)
        yield url


def truncate(url: str) -> None:
    """Empty every serving table of a PostgreSQL database."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def jobs_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty job database at head, on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'jobs.db'}"
        db.upgrade(url)
        return url
    url = str(request.getfixturevalue("pg_jobs_url"))
    truncate(url)
    return url
