"""Alembic environment of the serving tables, configured in code by ``services.serving.db``.

Only tables named ``serving_*`` are this package's: comparisons ignore every
other table (the registry's, when both share a database), and the version is
kept in ``serving_alembic_version``.
"""

from __future__ import annotations

from alembic import context

from services.serving.db import VERSION_TABLE, create_engine, include_object
from services.serving.models import Base
from vidforge.db import run_env

run_env(context, Base.metadata, create_engine, version_table=VERSION_TABLE, include_object=include_object)
