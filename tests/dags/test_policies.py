"""Every DAG: validated params, bounded runs and tasks, retries, and a failure callback that records."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from vidforge.alerts import on_task_failure


def _validated(params: Any, conf: dict[str, Any]) -> dict[str, Any]:
    """What a DAG run with ``conf`` gets (Airflow validates this before creating the run)."""
    import copy

    merged = copy.deepcopy(params)
    merged.update(conf)
    return merged.validate()


DAG_IDS = ("vidforge_curate", "vidforge_train", "vidforge_evaluate_promote")


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_runs_are_bounded_and_every_task_retries_times_out_and_reports(dagbag: Any, dag_id: str) -> None:
    dag = dagbag.dags[dag_id]
    assert dag.dagrun_timeout is not None and dag.max_active_runs <= 2
    for t in dag.tasks:
        assert on_task_failure in (t.on_failure_callback if isinstance(t.on_failure_callback, list)
                                   else [t.on_failure_callback]), t.task_id
        if t.task_type == "HITLOperator":  # a person's answer is bounded by response_timeout
            assert t.response_timeout is not None and t.response_timeout <= dag.dagrun_timeout
            continue
        assert t.retries >= 1, t.task_id
        assert t.execution_timeout is not None and t.execution_timeout <= dag.dagrun_timeout, t.task_id


def test_training_runs_cannot_pile_up(dagbag: Any) -> None:
    # every dataset event would otherwise start another multi-GPU training at once
    assert dagbag.dags["vidforge_train"].max_active_runs == 1


def test_curate_defaults_are_refused_before_any_task_starts(dagbag: Any) -> None:
    from airflow.sdk.exceptions import ParamValidationError

    params = dagbag.dags["vidforge_curate"].params
    with pytest.raises(ParamValidationError, match="sources"):
        _validated(params, {})  # `airflow dags test vidforge_curate` with its defaults
    ok = _validated(params, {"sources": ["s3://vidforge/raw/a.mp4"]})
    assert ok["dataset"] == "demo"
    for bad in ({"sources": []}, {"sources": ["a.mp4"], "dataset": "Not A Slug"},
                {"sources": ["a.mp4"], "version": "../x"}):
        with pytest.raises(ParamValidationError):
            _validated(params, bad)


def test_train_params_validate_the_launcher_and_default_to_the_deployment(dagbag: Any) -> None:
    from airflow.sdk.exceptions import ParamValidationError

    params = dagbag.dags["vidforge_train"].params
    assert _validated(params, {})["launcher"] == ""  # "" = settings.training.launcher
    with pytest.raises(ParamValidationError):
        _validated(params, {"launcher": "slurm"})
    with pytest.raises(ParamValidationError):
        _validated(params, {"dataset": "Bad Name"})


def test_stage_tasks_are_deferrable_pod_operators(dagbag: Any) -> None:
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    dag = dagbag.dags["vidforge_train"]
    for stage in ("stage1_image", "stage2_video", "stage3_finetune"):
        pod = dag.get_task(f"{stage}.pod")
        assert isinstance(pod, KubernetesPodOperator)  # a real task, not nested inside a @task
        assert pod.deferrable and pod.reattach_on_restart and pod.random_name_suffix
        assert pod.on_kill_action.value == "delete_pod" and pod.do_xcom_push is False
        assert pod.execution_timeout >= timedelta(hours=24)
        assert dag.get_task(f"{stage}.route").downstream_task_ids == {f"{stage}.pod", f"{stage}.run"}
        assert dag.get_task(f"{stage}.result").trigger_rule == "none_failed"


def test_promotion_waits_on_the_hitl_step_or_a_recorded_skip(dagbag: Any) -> None:
    from airflow.providers.standard.operators.hitl import HITLOperator

    dag = dagbag.dags["vidforge_evaluate_promote"]
    approval = dag.get_task("approval")
    assert isinstance(approval, HITLOperator) and approval.options == ["Approve", "Reject"]
    assert "registry" in approval.body and "four-eyes" in approval.body
    assert dag.get_task("approval_route").downstream_task_ids == {"approval", "approval_skipped"}
    promote = dag.get_task("promote")
    # a rejection skips both paths, so promote (none_failed_min_one_success) is skipped too
    assert promote.upstream_task_ids == {"await_registry_decision", "approval_skipped"}
    assert promote.trigger_rule == "none_failed_min_one_success"
    assert dag.get_task("await_registry_decision").mode == "reschedule"
