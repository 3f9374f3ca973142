"""Alembic environment for the registry, configured in code by ``services.registry.db``."""

from __future__ import annotations

from alembic import context

from services.registry.db import create_engine
from services.registry.models import Base
from vidforge.db import run_env

run_env(context, Base.metadata, create_engine)
