"""The model registry: ORM, store API, Alembic migrations, HTTP API, pages and CLI.

Layers (ORM rows never leave the store):

* :mod:`.models` — SQLAlchemy ORM tables;
* :mod:`.store` — :class:`~services.registry.store.RegistryStore`, one managed
  session per public method, returning the frozen dataclasses of :mod:`.entities`;
* :mod:`.errors` — coded domain errors and their single HTTP status table;
* :mod:`.db` — engines and Alembic (``upgrade``, ``current_revision``, ``head_revision``);
* :mod:`.api` / :mod:`.routes` — the FastAPI app built by ``create_app(settings)``;
* :mod:`.cli` — the typer app mounted as ``vidforge registry``.
"""
