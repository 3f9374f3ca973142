"""SQLAlchemy engines and in-code Alembic migrations shared by the platform's databases.

The registry and the serving job store each own a set of Alembic migrations
(their own ``migrations/`` directory and, for serving, their own version table)
but build engines and run migrations the same way:

* :func:`create_engine` normalises PostgreSQL URLs to psycopg 3, and on SQLite
  sets a busy timeout, ``PRAGMA foreign_keys`` and lets :func:`writer`
  transactions begin ``IMMEDIATE`` (read-check-write sequences are serial
  across processes); optionally WAL mode so readers never wait for a writer.
* :class:`Migrations` drives Alembic without an ``alembic.ini``: the live
  connection reaches ``env.py`` through ``Config.attributes["connection"]``,
  and ``env.py`` itself is one call to :func:`run_env`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import sessionmaker

SQLITE_BUSY_TIMEOUT_S = 30.0
"""How long a SQLite writer waits for another writer's lock before failing."""

IncludeObject = Callable[[Any, str | None, str, bool, Any], bool]


def normalise_url(db_url: str) -> str:
    """Return ``db_url`` with PostgreSQL URLs pinned to the psycopg 3 driver.

    ``postgres://`` and ``postgresql://`` become ``postgresql+psycopg://``; any
    other URL (``sqlite:///...``, an explicit driver) is returned unchanged.

    Raises:
        ValueError: ``db_url`` is empty.
    """
    if not db_url:
        raise ValueError("database URL (db_url) is empty")
    for prefix in ("postgres://", "postgresql://"):
        if db_url.startswith(prefix):
            return "postgresql+psycopg://" + db_url[len(prefix) :]
    return db_url


def _ensure_sqlite_dir(url: sa.URL) -> None:
    """Create the parent directory of a SQLite database file (not for ``:memory:``)."""
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def create_engine(db_url: str, *, foreign_keys: bool = True, wal: bool = False) -> Engine:
    """Build an engine for ``db_url`` (normalised, see :func:`normalise_url`).

    SQLite connections get ``PRAGMA foreign_keys`` set to ``foreign_keys``, a
    busy timeout of :data:`SQLITE_BUSY_TIMEOUT_S`, WAL journaling when ``wal``
    (file databases only), and the file's directory is created; other backends
    get ``pool_pre_ping``. Migrations pass ``foreign_keys=False`` because SQLite
    batch mode recreates tables.

    On SQLite, SQLAlchemy (not the driver) begins transactions, so a connection
    with the execution option ``write_lock=True`` (see :func:`writer`) begins
    with ``BEGIN IMMEDIATE``: it takes the database's write lock before its first
    read.
    """
    url = make_url(normalise_url(db_url))
    if url.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True)
    _ensure_sqlite_dir(url)
    engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
    pragmas = [f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}"]
    if wal and url.database not in (None, "", ":memory:"):
        pragmas.append("PRAGMA journal_mode=WAL")

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver's implicit BEGIN off; see _on_begin
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
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


@dataclass(frozen=True)
class Migrations:
    """One package's Alembic migrations, run in code.

    Attributes:
        directory: the package's ``migrations/`` directory (holds ``env.py``).
        engine_factory: builds the package's engines (``create_engine`` or a variant).
        version_table: Alembic's version table (packages sharing a database need their own).
        upgrade_lock: PostgreSQL advisory-lock key that serialises concurrent upgrades
            (replicas starting together), or None.
    """

    directory: Path
    engine_factory: Callable[..., Engine] = create_engine
    version_table: str = "alembic_version"
    upgrade_lock: int | None = None

    def config(self, connection: sa.Connection | None = None) -> Config:
        """An Alembic ``Config`` for these migrations, optionally bound to ``connection``."""
        config = Config()
        config.set_main_option("script_location", str(self.directory))
        config.set_main_option("path_separator", "os")
        if connection is not None:
            config.attributes["connection"] = connection
        return config

    def upgrade(self, db_url: str, revision: str = "head") -> None:
        """Migrate the database at ``db_url`` to ``revision`` in one transaction; safe to repeat."""
        engine = self.engine_factory(db_url, foreign_keys=False)
        try:
            with writer(engine).begin() as connection:
                if self.upgrade_lock is not None and connection.dialect.name == "postgresql":
                    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({self.upgrade_lock})")
                command.upgrade(self.config(connection), revision)
        finally:
            engine.dispose()

    def downgrade(self, db_url: str, revision: str) -> None:
        """Migrate down to ``revision`` (``base`` drops every table of these migrations)."""
        engine = self.engine_factory(db_url, foreign_keys=False)
        try:
            with engine.begin() as connection:
                command.downgrade(self.config(connection), revision)
        finally:
            engine.dispose()

    def revision_of(self, connection: sa.Connection) -> str | None:
        """The revision of the database behind ``connection`` (None: never migrated)."""
        context = MigrationContext.configure(connection, opts={"version_table": self.version_table})
        return context.get_current_revision()

    def current_revision(self, db_url: str) -> str | None:
        """The revision of the database at ``db_url`` (None: never migrated)."""
        engine = self.engine_factory(db_url)
        try:
            with engine.connect() as connection:
                return self.revision_of(connection)
        finally:
            engine.dispose()

    def head_revision(self) -> str:
        """The head revision of the migrations shipped with this code."""
        head = ScriptDirectory.from_config(self.config()).get_current_head()
        if head is None:  # pragma: no cover - a package always ships a revision
            raise RuntimeError(f"no Alembic revisions under {self.directory}")
        return head


def run_env(
    context: Any,
    metadata: sa.MetaData,
    engine_factory: Callable[..., Engine],
    *,
    version_table: str = "alembic_version",
    include_object: IncludeObject | None = None,
) -> None:
    """The body of an Alembic ``env.py``: run the migrations online or render them offline.

    Online migrations use the connection in ``config.attributes["connection"]``
    (or an engine built on ``sqlalchemy.url``); SQLite runs in batch mode so that
    ALTERs become copy-and-move. Offline mode renders SQL for ``sqlalchemy.url``.
    """
    config = context.config
    options: dict[str, Any] = {"target_metadata": metadata, "version_table": version_table}
    if include_object is not None:
        options["include_object"] = include_object

    def run(connection: sa.Connection) -> None:
        context.configure(
            connection=connection,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            **options,
        )
        with context.begin_transaction():
            context.run_migrations()

    if context.is_offline_mode():
        context.configure(
            url=config.get_main_option("sqlalchemy.url"),
            literal_binds=True,
            dialect_opts={"paramstyle": "named"},
            **options,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    engine = engine_factory(config.get_main_option("sqlalchemy.url") or "", foreign_keys=False)
    try:
        with engine.begin() as conn:
            run(conn)
    finally:
        engine.dispose()


class Database:
    """An engine on a migrated database plus its session factories.

    Opening checks that the database is at ``migrations``' head; a database at
    another revision (or an empty one) raises ``error`` with a message naming the
    database (password hidden) and the command that upgrades it.
    """

    def __init__(
        self,
        db_url: str,
        migrations: Migrations,
        *,
        what: str,
        upgrade_hint: str,
        error: Callable[[str], Exception],
    ) -> None:
        """Connect to ``db_url`` and verify its schema revision."""
        self.url = normalise_url(db_url)
        self.engine = migrations.engine_factory(self.url)
        try:
            with self.engine.connect() as connection:
                current = migrations.revision_of(connection)
            head = migrations.head_revision()
            if current != head:
                shown = make_url(self.url).render_as_string(hide_password=True)
                raise error(
                    f"{what} database {shown} is at schema revision {current or 'none (empty)'}, "
                    f"this code needs {head}: {upgrade_hint}"
                )
        except BaseException:
            self.engine.dispose()
            raise
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        """Sessions for reads and ordinary writes."""
        self.writers = sessionmaker(writer(self.engine), expire_on_commit=False)
        """Sessions whose SQLite transactions take the write lock first (read-check-write sequences)."""

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def dispose(self) -> None:
        """Close pooled connections (the engine reconnects when used again)."""
        self.engine.dispose()
