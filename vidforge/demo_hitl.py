"""Answer an Airflow human-in-the-loop step the way Airflow's HITL REST API does, for the demo.

``airflow dags test`` parks a ``HITLOperator`` task in ``awaiting_input`` until a
response is recorded in the metadata database from outside (the api-server's HITL
endpoint). The demo has no api-server, so ``python -m vidforge.demo_hitl DAG_ID
TASK_ID OPTION USER`` — run with the demo's ``AIRFLOW_HOME`` — records the response
and resumes the task exactly as that endpoint does: it sets the responder, time and
chosen option, then submits the resume event. Exit status 3 while no such task waits.
"""

from __future__ import annotations

import sys


def respond(dag_id: str, task_id: str, option: str, user: str) -> bool:
    """Record ``option`` as ``user``'s answer to the waiting ``task_id`` of ``dag_id``; False if none waits."""
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.trigger import handle_event_submit
    from airflow.triggers.base import TriggerEvent
    from airflow.utils import timezone
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import select

    with create_session() as session:
        ti = session.scalar(select(TaskInstance).where(
            TaskInstance.dag_id == dag_id, TaskInstance.task_id == task_id,
            TaskInstance.state == TaskInstanceState.AWAITING_INPUT).with_for_update())
        if ti is None:
            return False
        detail = session.scalar(select(HITLDetail).where(HITLDetail.ti_id == ti.id))
        if detail is None or detail.response_received:
            return False
        detail.responded_by = {"id": user, "name": user}
        detail.responded_at = timezone.utcnow()
        detail.chosen_options = [option]
        detail.params_input = {}
        session.add(detail)
        handle_event_submit(TriggerEvent(detail.as_resume_event_payload()), task_instance=ti, session=session)
    return True


if __name__ == "__main__":  # pragma: no cover - exercised by the demo
    sys.exit(0 if respond(*sys.argv[1:5]) else 3)
