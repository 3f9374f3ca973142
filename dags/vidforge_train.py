"""Three-stage SVD training (I image → II video → III fine-tune) on a dataset version."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param, dag, task

from vidforge.assets import DATASETS, RUNS

STAGES = ("stage1_image", "stage2_video", "stage3_finetune")


@dag(
    dag_id="vidforge_train",
    schedule=[DATASETS],
    catchup=False,
    tags=["vidforge", "training"],
    params={
        "dataset": Param("", type="string", description="Dataset name; empty: from the asset event."),
        "version": Param("", type="string", description="Dataset version; empty: from the asset event."),
        "run_id": Param("", type="string", description="Training run id; empty: from the DAG run id."),
        "launcher": Param(
            "local", type="string", enum=["local", "kubernetes", "trainjob", "ray"],
            description="local: subprocess; kubernetes: a KubernetesPodOperator pod per stage; "
            "trainjob: a multi-node Kubeflow TrainJob per stage; ray: Ray Train.",
        ),
    },
)
def vidforge_train() -> None:
    @task
    def resolve(**context: Any) -> dict[str, Any]:
        from vidforge.orchestration import event_extras, pick, run_id_for

        ref = pick(context["params"], event_extras(context.get("triggering_asset_events")), "dataset", "version")
        return {**ref, "run_id": run_id_for(context["params"], context["run_id"])}

    def stage_task(stage: str) -> Any:
        @task(task_id=stage)
        def run(job: dict[str, Any], previous: dict[str, Any] | None = None, **context: Any) -> dict[str, Any]:
            from training.api import run_stage, task_launcher
            from vidforge.settings import get_settings

            settings = get_settings()
            launcher = task_launcher(context["params"]["launcher"], settings, context)
            result = run_stage(
                settings, job["run_id"], stage, job["dataset"], job["version"],
                init_uri=previous["checkpoint_uri"] if previous else None,
                launcher=launcher,
            )
            return result.to_dict()

        return run

    @task(outlets=[RUNS])
    def publish(job: dict[str, Any], final: dict[str, Any], **context: Any) -> dict[str, Any]:
        context["outlet_events"][RUNS].extra = job
        return {**job, "checkpoint_uri": final["checkpoint_uri"]}

    job = resolve()
    previous = None
    for stage in STAGES:
        previous = stage_task(stage)(job, previous)
    publish(job, previous)


vidforge_train()
