"""Curate raw videos into a published dataset version (emits the datasets asset)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Param, dag, task

from vidforge.alerts import on_task_failure
from vidforge.assets import DATASETS
from vidforge.orchestration import DATASET_NAME_PATTERN, VERSION_PATTERN


@dag(
    dag_id="vidforge_curate",
    schedule=None,
    catchup=False,
    max_active_runs=2,
    dagrun_timeout=timedelta(hours=13),
    tags=["vidforge", "curation"],
    default_args={
        "retries": 2, "retry_delay": timedelta(minutes=2), "retry_exponential_backoff": True,
        "execution_timeout": timedelta(minutes=10), "on_failure_callback": on_task_failure,
    },
    params={
        # no default: a run without sources is refused by param validation before any task starts
        "sources": Param(type="array", minItems=1, items={"type": "string", "minLength": 1},
                         description="Video paths or URIs (file://, s3://) to curate."),
        "dataset": Param("demo", type="string", pattern=DATASET_NAME_PATTERN,
                         description="Dataset name: a lower-case slug."),
        "version": Param("", type="string", pattern=VERSION_PATTERN,
                         description="Dataset version; empty: from the run id."),
        "profile": Param("", type="string", description="Curation profile YAML; empty: the default profile."),
        "overrides": Param({}, type="object",
                           description='Curation settings on top of the profile, e.g. {"pipeline.runner": "ray"}.'),
    },
)
def vidforge_curate() -> None:
    @task
    def plan(**context: Any) -> dict[str, Any]:
        from vidforge.orchestration import plan_curation

        return plan_curation(context["params"], context["run_id"])

    @task(outlets=[DATASETS], execution_timeout=timedelta(hours=12))
    def curate(plan: dict[str, Any], **context: Any) -> dict[str, Any]:
        from curation.api import curate_task

        summary = curate_task(plan["sources"], plan["dataset"], plan["version"],
                              profile=plan["profile"], overrides=plan["overrides"])
        context["outlet_events"][DATASETS].extra = {"dataset": plan["dataset"], "version": plan["version"]}
        return summary

    curate(plan())


vidforge_curate()
