"""Entry points of the ``vidforge_train`` DAG's per-stage tasks (one call per task).

Each stage is a task group ``route → pod | run → result``:

* :func:`route_stage` decides where the stage runs: nowhere when the run already
  published this stage from the same inputs (a rerun), the DAG's deferrable
  ``KubernetesPodOperator`` for the ``kubernetes`` launcher (the pod manifest comes
  from here), or an in-task launcher (``local``, ``ray``, ``trainjob``).
* :func:`run_stage_task` runs a stage through an in-task launcher.
* :func:`stage_result_task` reads the stage's ``result.json`` from the object store.

The launcher and the resource profile come from the deployment's settings
(``training.launcher``, ``training.launchers_profile``, ``training.image``); a
run's ``launcher`` param only overrides the launcher.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from training.api import LAUNCHERS, existing_result, get_launcher
from training.config import load_stage_config
from training.launchers.base import LaunchError, TrainJob
from training.launchers.config import deployment_launchers_config
from training.launchers.pod_spec import build_pod, pod_labels, pod_name
from training.result import read_result
from vidforge.store import open_store

if TYPE_CHECKING:
    from vidforge.settings import Settings

#: Branch targets inside a stage's task group.
POD, RUN = "pod", "run"


def launcher_for(requested: str | None, settings: Settings) -> str:
    """The launcher of a run: the ``launcher`` param when set, else the deployment's ``training.launcher``.

    Raises:
        ValueError: an unknown launcher name.
    """
    name = requested or settings.training.launcher
    if name not in LAUNCHERS:
        raise ValueError(f"unknown launcher {name!r}; known: {', '.join(LAUNCHERS)}")
    return name


def _job(job: Mapping[str, Any], previous: Mapping[str, Any] | None) -> TrainJob:
    return TrainJob(run_id=str(job["run_id"]), dataset_name=str(job["dataset"]),
                    dataset_version=str(job["version"]),
                    init_uri=str(previous["checkpoint_uri"]) if previous else None)


def stage_pod(settings: Settings, job: Mapping[str, Any], stage: str,
              previous: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``v1/Pod`` manifest of ``stage`` for the DAG's ``KubernetesPodOperator`` (``pod_template_dict``).

    Named per (run, stage) without a try number (the operator adds a random suffix, so a
    retry after a failed pod never collides with the kept failed one); labelled per
    (run, stage), which with the operator's own DAG-run/task labels is what a retry
    selects to reattach to a pod still running.
    """
    cfg = deployment_launchers_config(settings).kubernetes
    train_job = _job(job, previous)
    return build_pod(cfg, load_stage_config(stage), train_job, try_number=None,
                     name=pod_name(train_job.run_id, stage, None, max_len=54))


def route_stage(settings: Settings, job: Mapping[str, Any], stage: str,
                previous: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Where ``stage`` runs: ``{"branch": "pod" | "run" | None, "pod": manifest | None, "labels": {...}}``.

    ``branch`` None: the stage is already published for these inputs (nothing to run).

    Raises:
        ValueError: the run already has this stage from other inputs, or an unknown launcher.
    """
    train_job = _job(job, previous)
    labels = pod_labels(train_job.run_id, stage)
    if existing_result(settings, train_job.run_id, stage, train_job) is not None:
        return {"branch": None, "pod": None, "labels": labels}
    if launcher_for(job.get("launcher"), settings) == "kubernetes":
        return {"branch": POD, "pod": stage_pod(settings, job, stage, previous), "labels": labels}
    return {"branch": RUN, "pod": None, "labels": labels}


def run_stage_task(settings: Settings, job: Mapping[str, Any], stage: str, previous: Mapping[str, Any] | None,
                   try_number: int = 1) -> dict[str, Any]:
    """Run ``stage`` through the run's in-task launcher (``local``, ``ray`` or ``trainjob``); its result.

    ``try_number`` names a TrainJob; a retry adopts the stage's unfinished TrainJob of an earlier try.

    Raises:
        LaunchError: the stage failed; ValueError: ``kubernetes`` (that runs as the DAG's pod operator).
    """
    name = launcher_for(job.get("launcher"), settings)
    if name == "kubernetes":
        raise ValueError("the kubernetes launcher runs as the DAG's KubernetesPodOperator, not in a task")
    config = deployment_launchers_config(settings) if name != "local" else None
    if name == "trainjob":
        from training.launchers.kubeflow import TrainJobLauncher

        launcher: Any = TrainJobLauncher(settings, config, try_number=try_number)
    else:
        launcher = get_launcher(name, settings, config)
    train_job = _job(job, previous)
    return launcher.launch(load_stage_config(stage), train_job).wait().to_dict()


def stage_result_task(settings: Settings, job: Mapping[str, Any], stage: str) -> dict[str, Any]:
    """The stage's published ``result.json`` (what the next stage starts from).

    Raises:
        LaunchError: the stage ended without publishing one.
    """
    try:
        return read_result(open_store(settings.store), str(job["run_id"]), stage).to_dict()
    except FileNotFoundError as e:
        raise LaunchError(f"stage {stage} of run {job['run_id']} published no result: {e}") from e
