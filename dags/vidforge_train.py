"""Three-stage SVD training (I image → II video → III fine-tune) on a dataset version.

Each stage is a task group ``route → pod | run → result``. ``route`` asks the library
where the stage runs (the deployment's ``training.launcher``; the run's ``launcher``
param overrides it): ``pod`` is a deferrable ``KubernetesPodOperator`` (no worker slot
is held while the pod trains; a retry reattaches to the stage's running pod by its
DAG-run/task labels, killing the task deletes the pod), ``run`` runs the local, Ray or
TrainJob launcher in the task. A stage the run already published is not run again,
and a stage that restarts resumes from its last complete checkpoint.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import Param, TaskGroup, XComArg, dag, task

from vidforge.alerts import on_task_failure
from vidforge.assets import DATASETS, RUNS
from vidforge.orchestration import DATASET_NAME_PATTERN, VERSION_PATTERN

STAGES = ("stage1_image", "stage2_video", "stage3_finetune")
#: A stage pod's activeDeadlineSeconds (default profile) is a day; the task outlives it a little.
STAGE_TIMEOUT = timedelta(hours=25)


@dag(
    dag_id="vidforge_train",
    schedule=[DATASETS],
    catchup=False,
    max_active_runs=1,  # every new dataset queues its run: never more than one training's GPUs at once
    dagrun_timeout=timedelta(days=4),
    tags=["vidforge", "training"],
    default_args={
        "retries": 2, "retry_delay": timedelta(minutes=5),
        "execution_timeout": timedelta(minutes=10), "on_failure_callback": on_task_failure,
    },
    params={
        "dataset": Param("", type="string", pattern=f"^$|{DATASET_NAME_PATTERN}",
                         description="Dataset name; empty: from the asset event."),
        "version": Param("", type="string", pattern=VERSION_PATTERN,
                         description="Dataset version; empty: from the asset event."),
        "run_id": Param("", type="string", pattern=VERSION_PATTERN,
                        description="Training run id; empty: from the DAG run id."),
        "launcher": Param(
            "", type="string", enum=["", "local", "kubernetes", "trainjob", "ray"],
            description="Empty: the deployment's training.launcher. local: subprocess; kubernetes: a pod per "
            "stage; trainjob: a multi-node Kubeflow TrainJob per stage; ray: Ray Train.",
        ),
    },
)
def vidforge_train() -> None:
    @task
    def resolve(**context: Any) -> dict[str, Any]:
        from training.stage_tasks import launcher_for
        from vidforge.orchestration import event_extras, pick, run_id_for
        from vidforge.settings import get_settings

        ref = pick(context["params"], event_extras(context.get("triggering_asset_events")), "dataset", "version")
        return {**ref, "run_id": run_id_for(context["params"], context["run_id"]),
                "launcher": launcher_for(context["params"]["launcher"], get_settings())}

    def stage_group(stage: str, job: Any, previous: Any) -> Any:
        with TaskGroup(stage):
            @task.branch
            def route(job: dict[str, Any], previous: dict[str, Any] | None, **context: Any) -> list[str]:
                from training.stage_tasks import route_stage
                from vidforge.settings import get_settings

                plan = route_stage(get_settings(), job, stage, previous)
                context["ti"].xcom_push(key="pod", value=plan["pod"])
                context["ti"].xcom_push(key="labels", value=plan["labels"])
                return [f"{stage}.{plan['branch']}"] if plan["branch"] else []

            @task(execution_timeout=STAGE_TIMEOUT)
            def run(job: dict[str, Any], previous: dict[str, Any] | None, **context: Any) -> dict[str, Any]:
                from training.stage_tasks import run_stage_task
                from vidforge.settings import get_settings

                return run_stage_task(get_settings(), job, stage, previous, int(context["ti"].try_number or 1))

            @task(trigger_rule="none_failed")
            def result(job: dict[str, Any]) -> dict[str, Any]:
                from training.stage_tasks import stage_result_task
                from vidforge.settings import get_settings

                return stage_result_task(get_settings(), job, stage)

            routed = route(job, previous)
            pod = KubernetesPodOperator(
                task_id="pod",
                pod_template_dict=XComArg(routed.operator, key="pod"),
                labels=XComArg(routed.operator, key="labels"),
                random_name_suffix=True,      # a retry after a kept failed pod never collides with it
                reattach_on_restart=True,     # ... and one after a lost worker adopts the running pod
                deferrable=True,              # the triggerer watches the pod; no worker slot for hours
                on_finish_action="delete_succeeded_pod",  # failed pods stay for inspection
                on_kill_action="delete_pod",  # a killed or timed-out task deletes its GPU pod
                do_xcom_push=False,           # the result travels as runs/<run_id>/<stage>/result.json
                get_logs=True,
                startup_timeout_seconds=1800,
                kubernetes_conn_id="kubernetes_default",
                execution_timeout=STAGE_TIMEOUT,
            )
            ran = run(job, previous)
            done = result(job)
            routed >> [pod, ran] >> done
        return done

    job = resolve()
    previous = None
    for stage in STAGES:
        previous = stage_group(stage, job, previous)

    @task(outlets=[RUNS])
    def publish(job: dict[str, Any], final: dict[str, Any], **context: Any) -> dict[str, Any]:
        context["outlet_events"][RUNS].extra = {k: job[k] for k in ("dataset", "version", "run_id")}
        return {**job, "checkpoint_uri": final["checkpoint_uri"]}

    publish(job, previous)


vidforge_train()
