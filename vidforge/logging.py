"""Structured logging (structlog): human-readable on a terminal, JSON in services."""

from __future__ import annotations

import logging
import sys

import structlog


def configure_logging(level: str = "INFO", json: bool = False) -> None:
    """Route structlog and stdlib logging to stderr at ``level``."""
    lvl = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(lvl),
        # resolve sys.stderr per logger: it may be swapped (test capture, daemons)
        logger_factory=lambda *_: structlog.PrintLogger(sys.stderr),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=lvl, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    for chatty in ("httpx", "httpcore", "urllib3", "botocore", "matplotlib", "PIL"):
        logging.getLogger(chatty).setLevel(max(lvl, logging.WARNING))


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    """A structlog logger bound to ``logger=name``."""
    return structlog.get_logger(logger_name=name)
