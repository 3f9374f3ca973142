"""Registry fixtures: migrated databases on SQLite (always) and PostgreSQL (``pg_url``).

PostgreSQL tests run in a database created for this test session (and dropped
after it), so concurrent runs against one server never collide; each test
starts from empty tables. SQLite tests copy a migrated template file.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from services.registry.api import create_app
from services.registry.db import normalise_url, upgrade
from services.registry.store import RegistryPolicy, RegistryStore
from vidforge.identity import Principal, Role
from vidforge.settings import Settings, get_settings

BACKENDS = ["sqlite", "postgresql"]
TABLES = (
    "webhook_deliveries", "webhooks", "api_tokens", "model_tags", "audit_events", "approvals", "model_aliases",
    "model_versions", "registered_models",
)
ALLOWED = ("s3://b", "s3://bucket")
"""URI prefixes the test registries accept (besides the settings' object store)."""
POLICY = RegistryPolicy(allowed_uri_prefixes=ALLOWED)
OPS = Principal("ops", Role.OPERATOR)
ALICE = Principal("alice", Role.APPROVER)
BOB = Principal("bob", Role.APPROVER)
ADMIN = Principal("root", Role.ADMIN)
VIEWER = Principal("vic", Role.VIEWER)


@contextmanager
def fresh_pg_database(pg_url: str) -> Iterator[str]:
    """Create an empty database on the ``pg_url`` server; yield its URL; drop it after."""
    name = f"vf_registry_{uuid.uuid4().hex[:12]}"
    server = make_url(normalise_url(pg_url))
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


def sqlite_url(path: Path) -> str:
    """A SQLAlchemy URL for the SQLite file at ``path``."""
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session (copied per test)."""
    path = tmp_path_factory.mktemp("registry-template") / "registry.db"
    upgrade(sqlite_url(path))
    return path


@pytest.fixture(scope="session")
def pg_registry_url(pg_url: str) -> Iterator[str]:
    """A session-private PostgreSQL database migrated to head."""
    with fresh_pg_database(pg_url) as url:
        upgrade(url)
        yield url


def _truncate(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
            conn.exec_driver_sql("UPDATE audit_head SET last_id = 0, last_hash = repeat('0', 64)")
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """URL of an empty registry database at head, on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "registry.db"
        shutil.copyfile(sqlite_template, path)
        return sqlite_url(path)
    url: str = request.getfixturevalue("pg_registry_url")
    _truncate(url)
    return url


@pytest.fixture(params=BACKENDS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a database with no tables at all, on each backend."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "empty.db")
        return
    with fresh_pg_database(request.getfixturevalue("pg_url")) as url:
        yield url


@pytest.fixture
def store(db_url: str) -> Iterator[RegistryStore]:
    """A store on an empty database at head."""
    opened = RegistryStore(db_url, POLICY)
    yield opened
    opened.dispose()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Settings whose registry lives at ``db_url``."""
    home = tmp_path / "home"
    prefixes = [*ALLOWED, (home / "store").resolve().as_uri()]
    return get_settings(overrides={"home": str(home), "registry": {"db_url": db_url, "allowed_uri_prefixes": prefixes}})


@pytest.fixture
def tokens(db_url: str) -> dict[str, str]:
    """One API token per role (named after the role, plus a second approver ``approver2``): name → value."""
    store = RegistryStore(db_url, POLICY)
    try:
        _, admin = store.create_token("admin", "admin", None)
        root = store.resolve_token(admin)
        assert root is not None
        made = {"admin": admin}
        for name, role in (("viewer", "viewer"), ("operator", "operator"), ("approver", "approver"),
                           ("approver2", "approver")):
            made[name] = store.create_token(name, role, root)[1]
        return made
    finally:
        store.dispose()


def auth(token: str) -> dict[str, str]:
    """The Authorization header for ``token``."""
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """A TestClient on ``create_app(settings)`` with its lifespan running (no credentials set)."""
    with TestClient(create_app(settings, dispatch_webhooks=False)) as test_client:
        yield test_client


@pytest.fixture
def as_role(client: TestClient, tokens: dict[str, str]) -> dict[str, dict[str, str]]:
    """Authorization headers by token name (``admin``, ``viewer``, ``operator``, ``approver``, ``approver2``)."""
    return {name: auth(value) for name, value in tokens.items()}
