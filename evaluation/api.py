"""Entry points the Airflow tasks call (one call per task; settings from the environment)."""

from __future__ import annotations

from typing import Any

from evaluation.config import load_eval_config
from vidforge.settings import get_settings


def evaluate_run_task(run_id: str, config: str = "default") -> dict[str, Any]:
    """Evaluate ``run_id``; returns the ``eval.json`` record."""
    from evaluation.run import evaluate_run

    return evaluate_run(get_settings(), run_id, load_eval_config(config))


def register_task(record: dict[str, Any], config: str = "default") -> dict[str, Any]:
    """Register the evaluated run as a model version (``candidate`` alias)."""
    from evaluation.promotion import register_candidate

    return register_candidate(get_settings(), record, load_eval_config(config).promotion)


def promote_task(registered: dict[str, Any], config: str = "default") -> dict[str, Any]:
    """Move the production alias to a registered version whose gate passed."""
    from evaluation.promotion import promote

    return promote(get_settings(), registered, load_eval_config(config).promotion)
