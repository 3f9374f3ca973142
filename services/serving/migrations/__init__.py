"""Alembic migrations of the serving tables (version table ``serving_alembic_version``)."""
