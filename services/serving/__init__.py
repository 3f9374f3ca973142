"""Generation service: authenticated, durable, idempotent image-to-video jobs on the registry's production model.

Entry points: :func:`services.serving.app.create_app` (factory),
:func:`services.serving.main.run` (uvicorn), :mod:`services.serving.cli` (``vidforge serve``,
``vidforge serving ...``). Jobs live in :mod:`.store` (claims in :mod:`.queue`), run in
:mod:`.worker` on the model :mod:`.watcher` keeps, and their results in :mod:`.results`.
"""
