"""CLI entry the core mounts as ``vidforge serve``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vidforge.settings import Settings


def serve(settings: Settings) -> None:
    """Start the generation service (blocks until interrupted).

    Follows ``settings.serving.alias`` of ``settings.registry.model_name`` in the
    registry at ``settings.registry.db_url``; listens on
    ``settings.serving.host:port``. Every knob (limits, webhook secret, torch
    threads) is a field of :class:`vidforge.settings.ServingSettings`.
    """
    from services.serving.main import run

    run(settings)


def serve_command() -> None:
    """Start the generation service; follows the production alias of the registry."""
    from vidforge.settings import get_settings

    serve(get_settings())
