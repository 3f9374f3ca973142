"""Evaluate a finished run, register it, gate it, ask a person, promote.

The approval step is the standard provider's human-in-the-loop ``HITLOperator``
(Approve / Reject in the Airflow UI, showing the version, its gate, metrics and
report). The registry stays the source of truth for the four-eyes decision: the
Airflow response is recorded in the registry's audit log (``airflow_review``, with
the responding Airflow user), and promotion then waits for the approver's decision
in the registry — made with the approver's own token (pages, API or CLI), an
identity other than the pipeline's. With ``promotion.require_approval: false`` the
step is skipped and the audit log says so (``approval_skipped``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import Param, dag, task

from vidforge.alerts import on_task_failure
from vidforge.assets import MODELS, RUNS
from vidforge.orchestration import VERSION_PATTERN

#: How long a person has to answer in Airflow, then to decide in the registry.
RESPONSE_TIMEOUT = timedelta(days=7)
REGISTRY_POKE_S = 60

_REGISTERED = "ti.xcom_pull(task_ids='register')"
SUBJECT = f"Promote {{{{ {_REGISTERED}['model'] }}}} v{{{{ {_REGISTERED}['model_version'] }}}} to production?"
BODY = f"""\
Run `{{{{ {_REGISTERED}['run_id'] }}}}` passed its evaluation gate.

* metrics: `{{{{ {_REGISTERED}['metrics'] }}}}`
* gate: `{{{{ {_REGISTERED}['gate']['checks'] }}}}`
* report: {{{{ {_REGISTERED}['report_uri'] }}}}
* registry: {{{{ {_REGISTERED}['registry_page'] }}}}

**The registry records the four-eyes decision.** Approve or reject this version there with your own
approver token (the version page above, or
`vidforge registry approve {{{{ {_REGISTERED}['model'] }}}} {{{{ {_REGISTERED}['model_version'] }}}}`),
then answer here: your answer is added to the registry's audit log, and promotion waits for the
registry's decision.
"""


@dag(
    dag_id="vidforge_evaluate_promote",
    schedule=[RUNS],
    catchup=False,
    max_active_runs=1,  # alias moves in order; compare-and-set refuses a stale one anyway
    dagrun_timeout=timedelta(days=15),
    tags=["vidforge", "evaluation", "registry"],
    default_args={
        "retries": 2, "retry_delay": timedelta(minutes=2),
        "execution_timeout": timedelta(minutes=10), "on_failure_callback": on_task_failure,
    },
    params={"run_id": Param("", type="string", pattern=VERSION_PATTERN,
                            description="Training run id; empty: from the asset event.")},
)
def vidforge_evaluate_promote() -> None:
    @task
    def resolve(**context: Any) -> str:
        from vidforge.orchestration import event_extras, pick

        return str(pick(context["params"], event_extras(context.get("triggering_asset_events")), "run_id")["run_id"])

    @task(execution_timeout=timedelta(hours=2))
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

    @task.branch
    def approval_route() -> str:
        """``approval`` when the promotion config asks for a person, else ``approval_skipped``."""
        from evaluation.api import approval_settings

        return "approval" if approval_settings()["require_approval"] else "approval_skipped"

    @task
    def approval_skipped(registered: dict[str, Any]) -> dict[str, Any]:
        """The registry's audit log records that this run promotes without an approval step."""
        from evaluation.api import approval_skipped_task

        return approval_skipped_task(registered)

    approval = HITLOperator(
        task_id="approval",
        subject=SUBJECT,
        body=BODY,
        options=["Approve", "Reject"],
        response_timeout=RESPONSE_TIMEOUT,
        retries=0,
    )

    @task
    def record_review(registered: dict[str, Any], response: dict[str, Any]) -> str:
        """Write the Airflow answer into the registry's audit log; a rejection ends the run here."""
        from airflow.exceptions import AirflowSkipException

        from evaluation.api import record_review_task

        decision = record_review_task(registered, response)
        if decision != "approved":
            raise AirflowSkipException(f"rejected in Airflow by {response.get('responded_by_user')}")
        return decision

    @task.sensor(poke_interval=REGISTRY_POKE_S, timeout=RESPONSE_TIMEOUT.total_seconds(), mode="reschedule",
                 execution_timeout=RESPONSE_TIMEOUT + timedelta(hours=1))
    def await_registry_decision(registered: dict[str, Any], _: str) -> bool:
        """Done when an approver (not the pipeline) approved the version in the registry; fails on rejection."""
        from airflow.exceptions import AirflowFailException

        from evaluation.api import review_task

        state, detail = review_task(registered)
        if state == "rejected":
            raise AirflowFailException(detail)
        return state == "approved"

    @task(outlets=[MODELS], trigger_rule="none_failed_min_one_success")
    def promote(**context: Any) -> dict[str, Any]:
        """After the registry's approval, or a recorded skip; not after a rejection (both upstreams skipped)."""
        from evaluation.api import promote_task

        promoted = promote_task(context["ti"].xcom_pull(task_ids="register"))
        context["outlet_events"][MODELS].extra = {
            "model": promoted["model"], "version": promoted["model_version"], "alias": promoted["alias"],
        }
        return promoted

    registered = register(evaluate(resolve()))
    route = approval_route()
    gate_passed(registered) >> route >> approval
    decided = await_registry_decision(registered, record_review(registered, approval.output))
    skipped = approval_skipped(registered)
    route >> skipped
    [decided, skipped] >> promote()


vidforge_evaluate_promote()
