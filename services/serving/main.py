"""Run the generation service with uvicorn: ``run(settings)``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vidforge.logging import configure_logging, get_logger

if TYPE_CHECKING:
    from vidforge.settings import Settings


def run(settings: Settings) -> None:
    """Serve on ``settings.serving.host:port`` until interrupted (blocks).

    Logging is configured from ``settings.log_level`` / ``log_json`` first;
    uvicorn's own loggers go through the same stdlib root handler. Process-wide
    knobs (``serving.torch_threads``) are applied here, not in the app factory.
    """
    import uvicorn

    from services.serving.app import create_app

    configure_logging(settings.log_level, settings.log_json)
    if settings.serving.torch_threads:
        import torch

        torch.set_num_threads(settings.serving.torch_threads)
    app = create_app(settings)
    get_logger(__name__).info(
        "serving starts", host=settings.serving.host, port=settings.serving.port,
        model=settings.registry.model_name, alias=settings.serving.alias, registry=settings.registry.url,
    )
    uvicorn.run(app, host=settings.serving.host, port=settings.serving.port, log_config=None)
