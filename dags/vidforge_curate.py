"""Curate raw videos into a published dataset version (emits the datasets asset).

plan → shards → one mapped ``curate_shard`` task per shard (per-source stages, results left
in the resume cache; a retried shard redoes nothing it finished) → ``curate``, the global
step (restores every source from the cache, runs the dataset-wide filters, validates,
publishes). See :mod:`curation.shards`.
"""

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
        "shard_size": Param(16, type="integer", minimum=1, maximum=10_000,
                            description="Sources per mapped shard task."),
        "overrides": Param({}, type="object",
                           description='Curation settings on top of the profile, e.g. {"pipeline.runner": "ray"}.'),
    },
)
def vidforge_curate() -> None:
    @task
    def plan(**context: Any) -> dict[str, Any]:
        from vidforge.orchestration import plan_curation

        return plan_curation(context["params"], context["run_id"])

    @task
    def shards(plan: dict[str, Any], **context: Any) -> list[list[str]]:
        from curation.api import plan_shards_task

        return plan_shards_task(plan["sources"], int(context["params"]["shard_size"]))

    @task(execution_timeout=timedelta(hours=6), max_active_tis_per_dag=8)
    def curate_shard(shard: list[str], plan: dict[str, Any]) -> dict[str, Any]:
        from curation.api import curate_shard_task

        return curate_shard_task(shard, plan["dataset"], plan["version"], profile=plan["profile"],
                                 overrides=plan["overrides"])

    @task(outlets=[DATASETS], execution_timeout=timedelta(hours=12))
    def curate(plan: dict[str, Any], **context: Any) -> dict[str, Any]:
        from curation.api import curate_task

        summary = curate_task(plan["sources"], plan["dataset"], plan["version"],
                              profile=plan["profile"], overrides=plan["overrides"])
        context["outlet_events"][DATASETS].extra = {"dataset": plan["dataset"], "version": plan["version"]}
        return summary

    planned = plan()
    curate_shard.partial(plan=planned).expand(shard=shards(planned)) >> curate(planned)


vidforge_curate()
