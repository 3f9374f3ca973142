"""Publish a versioned evaluation set (from a dataset version's held-out clips or a folder of videos)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Param, dag, task

from vidforge.alerts import on_task_failure

EVALSET_REF_PATTERN = r"^[A-Za-z0-9._-]+/[A-Za-z0-9._-]+$"


@dag(
    dag_id="vidforge_evalset",
    schedule=None,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=6),
    tags=["vidforge", "evaluation"],
    default_args={
        "retries": 2, "retry_delay": timedelta(minutes=2),
        "execution_timeout": timedelta(hours=4), "on_failure_callback": on_task_failure,
    },
    params={
        "ref": Param(type="string", pattern=EVALSET_REF_PATTERN,
                     description="The evaluation set to publish, '<name>/<version>' (versions are immutable)."),
        "dataset": Param("", type="string", pattern=r"^$|" + EVALSET_REF_PATTERN,
                         description="Curated dataset version '<name>/<version>' whose held-out clips to use."),
        "folder": Param("", type="string", description="Or: a folder (path or store URI) of reference videos."),
    },
)
def vidforge_evalset() -> None:
    @task
    def build(**context: Any) -> dict[str, Any]:
        from evaluation.api import build_evalset_task

        p = context["params"]
        return build_evalset_task(p["ref"], dataset=p["dataset"], folder=p["folder"])

    build()


vidforge_evalset()
