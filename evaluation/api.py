"""Entry points the Airflow tasks call (one call per task; settings from the environment)."""

from __future__ import annotations

from typing import Any

from evaluation.config import load_eval_config
from vidforge.settings import get_settings


def evaluate_run_task(run_id: str, config: str = "default") -> dict[str, Any]:
    """Evaluate ``run_id``; returns the ``eval.json`` record."""
    from evaluation.run import evaluate_run

    return evaluate_run(get_settings(), run_id, load_eval_config(config))


def build_evalset_task(ref: str, dataset: str = "", folder: str = "", config: str = "default") -> dict[str, Any]:
    """Publish evaluation set ``ref`` from a dataset version's held-out clips, or from a folder of videos.

    Returns ``{"ref", "uri", "sha256", "samples"}``. Raises ValueError unless exactly one source is given.
    """
    from evaluation.evalset import build_from_dataset
    from evaluation.evalset_folder import build_from_folder
    from evaluation.run import load_scorers

    if bool(dataset) == bool(folder):
        raise ValueError("an evaluation set is built from a dataset version or a folder: give exactly one")
    settings, cfg = get_settings(), load_eval_config(config)
    scorers = load_scorers(settings, cfg)
    nets = {"fvd": scorers.i3d, "fid": scorers.inception}
    if dataset:
        return build_from_dataset(settings, ref, dataset, cfg, nets)
    return build_from_folder(settings, ref, folder, cfg, nets)


def register_task(record: dict[str, Any], config: str = "default", dag_run_id: str = "") -> dict[str, Any]:
    """Register the evaluated run as a model version (``candidate`` alias); idempotent per run."""
    from evaluation.promotion import register_candidate

    return register_candidate(get_settings(), record, load_eval_config(config).promotion, dag_run_id)


def approval_settings(config: str = "default") -> dict[str, Any]:
    """``require_approval``, ``poke_s`` and ``timeout_s`` of the promotion config (the DAG's wait)."""
    promotion = load_eval_config(config).promotion
    return {"require_approval": promotion.require_approval, "poke_s": promotion.approval_poke_s,
            "timeout_s": promotion.approval_timeout_s}


def review_task(registered: dict[str, Any]) -> tuple[str, str]:
    """The registered version's review: ``("approved" | "rejected" | "pending", detail)``."""
    from evaluation.promotion import review_state

    return review_state(get_settings(), registered)


def approval_skipped_task(registered: dict[str, Any]) -> dict[str, Any]:
    """Record in the registry's audit log that the approval step is skipped (``require_approval`` false)."""
    from evaluation.promotion import record_approval_skipped

    record_approval_skipped(get_settings(), registered)
    return registered


def record_review_task(registered: dict[str, Any], response: dict[str, Any]) -> str:
    """Record the Airflow approval step's response in the registry audit; ``"approved"`` / ``"rejected"``."""
    from evaluation.promotion import record_review

    return record_review(get_settings(), registered, response)


def promote_task(registered: dict[str, Any], config: str = "default") -> dict[str, Any]:
    """Move the production alias to a registered version whose gate passed."""
    from evaluation.promotion import promote

    return promote(get_settings(), registered, load_eval_config(config).promotion)
