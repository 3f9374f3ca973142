"""Generation service: FastAPI app, bounded job queue, registry-following model watcher.

Entry points: :func:`services.serving.app.create_app` (factory),
:func:`services.serving.main.run` (uvicorn), :func:`services.serving.cli.serve` (CLI).
"""
