"""Curate raw videos into a published dataset version (emits the datasets asset)."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param, dag, task

from vidforge.assets import DATASETS


@dag(
    dag_id="vidforge_curate",
    schedule=None,
    catchup=False,
    tags=["vidforge", "curation"],
    params={
        "sources": Param([], type="array", description="Video paths or URIs to curate."),
        "dataset": Param("demo", type="string", description="Dataset name (slug)."),
        "version": Param("", type="string", description="Dataset version; empty: from the run id."),
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

    @task(outlets=[DATASETS])
    def curate(plan: dict[str, Any], **context: Any) -> dict[str, Any]:
        from curation.api import curate_task

        summary = curate_task(plan["sources"], plan["dataset"], plan["version"],
                              profile=plan["profile"], overrides=plan["overrides"])
        context["outlet_events"][DATASETS].extra = {"dataset": plan["dataset"], "version": plan["version"]}
        return summary

    curate(plan())


vidforge_curate()
