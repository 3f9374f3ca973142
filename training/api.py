"""Library entry points for orchestration (Airflow tasks call these).

``run_stage`` runs one stage through a launcher and returns its
:class:`~training.result.StageResult` (read from the object store);
``run_all_stages`` chains stage I → II → III, each initialised from the
previous stage's ``final/``. Both are idempotent per ``(run_id, stage)``: a
stage whose ``result.json`` already exists for the same inputs is not re-run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from training.config import STAGE_ORDER, load_stage_config
from training.launchers.base import Launcher, TrainJob
from training.result import StageResult, read_result
from vidforge.logging import get_logger
from vidforge.store import open_store

if TYPE_CHECKING:
    from training.launchers.config import LaunchersConfig
    from vidforge.settings import Settings

log = get_logger(__name__)

#: Launcher names accepted by :func:`run_stage` (remote ones read ``configs/training/launchers/default.yaml``).
LAUNCHERS = ("local", "kubernetes", "trainjob", "ray")


def get_launcher(name: str, settings: Settings, config: LaunchersConfig | None = None) -> Launcher:
    """The launcher called ``name`` configured with ``settings``.

    Args:
        config: the remote launchers' profile; None = ``configs/training/launchers/default.yaml``.

    Raises:
        ValueError: unknown launcher name.
    """
    if name == "local":
        from training.launchers.local import LocalLauncher

        return LocalLauncher(settings)
    if name == "kubernetes":
        from training.launchers.kubernetes import KubernetesLauncher

        return KubernetesLauncher(settings, config.kubernetes if config else None)
    if name == "trainjob":
        from training.launchers.kubeflow import TrainJobLauncher

        return TrainJobLauncher(settings, config)
    if name == "ray":
        from training.launchers.ray import RayLauncher

        return RayLauncher(settings, config.ray if config else None)
    raise ValueError(f"unknown launcher {name!r}; known: {', '.join(LAUNCHERS)}")


def existing_result(settings: Settings, run_id: str, stage: str, job: TrainJob) -> StageResult | None:
    """A published result of this exact job, None when absent.

    Raises:
        ValueError: the run already has this stage trained on other inputs.
    """
    try:
        done = read_result(open_store(settings.store), run_id, stage)
    except FileNotFoundError:
        return None
    same = (done.dataset_name, done.dataset_version, done.init_uri) == (
        job.dataset_name, job.dataset_version, job.init_uri,
    )
    if not same:
        raise ValueError(
            f"run {run_id} already has stage {stage} trained on {done.dataset_name}/{done.dataset_version} "
            f"from {done.init_uri}; use a new run id for {job.dataset_name}/{job.dataset_version} "
            f"from {job.init_uri}"
        )
    return done


def run_stage(
    settings: Settings,
    run_id: str,
    stage_name: str,
    dataset_name: str,
    dataset_version: str,
    init_uri: str | None = None,
    launcher: str | Launcher = "local",
    *,
    overrides: Mapping[str, Any] | None = None,
    timeout: float | None = None,
    reuse: bool = True,
) -> StageResult:
    """Train one stage and return its result.

    Args:
        settings: platform settings (the object store the stage writes to).
        run_id: training run id; outputs go to ``runs/<run_id>/<stage>/``.
        stage_name: ``stage1_image`` / ``stage2_video`` / ``stage3_finetune`` or a YAML path.
        dataset_name / dataset_version: a published dataset version.
        init_uri: a previous stage's ``checkpoint_uri``; None = build from the model config.
        launcher: ``"local"`` or a :class:`~training.launchers.base.Launcher` instance.
        overrides: stage-config fields to override (e.g. ``{"steps": 2}``).
        timeout: seconds to wait for the stage; None = no limit.
        reuse: return an existing ``result.json`` of the same inputs instead of re-training.

    Raises:
        training.launchers.LaunchError: the stage failed.
        ValueError: bad stage config, unknown launcher, or the run already has this
            stage from other inputs.
    """
    cfg = load_stage_config(stage_name, dict(overrides or {}))
    job = TrainJob(run_id=run_id, dataset_name=dataset_name, dataset_version=dataset_version,
                   init_uri=init_uri)
    if reuse and (done := existing_result(settings, run_id, cfg.name, job)) is not None:
        log.info("stage already done", stage=cfg.name, run_id=run_id, checkpoint_uri=done.checkpoint_uri)
        return done
    runner = get_launcher(launcher, settings) if isinstance(launcher, str) else launcher
    log.info("launching stage", stage=cfg.name, run_id=run_id, init_uri=init_uri)
    return runner.launch(cfg, job).wait(timeout)


def run_all_stages(
    settings: Settings,
    run_id: str,
    dataset_name: str,
    dataset_version: str,
    stages: Sequence[str] = STAGE_ORDER,
    init_uri: str | None = None,
    launcher: str | Launcher = "local",
    *,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    timeout: float | None = None,
) -> list[StageResult]:
    """Run ``stages`` in order, each initialised from the previous one's ``checkpoint_uri``.

    Args:
        init_uri: initialisation of the first stage (None = build from config).
        overrides: per stage name, fields to override; the key ``"*"`` applies to every stage.

    Returns:
        One result per stage, in order.
    """
    overrides = overrides or {}
    results: list[StageResult] = []
    for name in stages:
        stage_overrides = {**overrides.get("*", {}), **overrides.get(name, {})}
        result = run_stage(settings, run_id, name, dataset_name, dataset_version, init_uri, launcher,
                           overrides=stage_overrides, timeout=timeout)
        results.append(result)
        init_uri = result.checkpoint_uri
    return results
