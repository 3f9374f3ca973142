"""Evaluate a finished run, gate it against the champion, register it, wait for an approver, promote."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Param, dag, task

from vidforge.assets import MODELS, RUNS

APPROVAL_POKE_S = 10
APPROVAL_TIMEOUT_S = 7 * 24 * 3600


@dag(
    dag_id="vidforge_evaluate_promote",
    schedule=[RUNS],
    catchup=False,
    tags=["vidforge", "evaluation", "registry"],
    params={"run_id": Param("", type="string", description="Training run id; empty: from the asset event.")},
)
def vidforge_evaluate_promote() -> None:
    @task
    def resolve(**context: Any) -> str:
        from vidforge.orchestration import event_extras, pick

        return str(pick(context["params"], event_extras(context.get("triggering_asset_events")), "run_id")["run_id"])

    @task
    def evaluate(training_run: str) -> dict[str, Any]:
        from evaluation.api import evaluate_run_task

        return evaluate_run_task(training_run)

    @task
    def register(evaluation: dict[str, Any], **context: Any) -> dict[str, Any]:
        from evaluation.api import register_task

        return register_task(evaluation, dag_run_id=str(context["run_id"]))

    @task.short_circuit
    def gate_passed(registered: dict[str, Any]) -> bool:
        return bool(registered["gate"]["passed"])

    @task.sensor(poke_interval=APPROVAL_POKE_S, timeout=APPROVAL_TIMEOUT_S, mode="poke",
                 execution_timeout=timedelta(seconds=APPROVAL_TIMEOUT_S + 60))
    def await_approval(registered: dict[str, Any]) -> bool:
        """Done when an approver (not the pipeline) approved the version in the registry; fails on rejection."""
        from airflow.exceptions import AirflowFailException

        from evaluation.api import approval_settings, review_task

        if not approval_settings()["require_approval"]:
            return True
        state, detail = review_task(registered)
        if state == "rejected":
            raise AirflowFailException(detail)
        return state == "approved"

    @task(outlets=[MODELS])
    def promote(registered: dict[str, Any], **context: Any) -> dict[str, Any]:
        from evaluation.api import promote_task

        promoted = promote_task(registered)
        context["outlet_events"][MODELS].extra = {
            "model": promoted["model"], "version": promoted["model_version"], "alias": promoted["alias"],
        }
        return promoted

    registered = register(evaluate(resolve()))
    gate_passed(registered) >> await_approval(registered) >> promote(registered)


vidforge_evaluate_promote()
