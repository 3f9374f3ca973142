"""Run a stage with Ray Train's ``TorchTrainer`` (local Ray or a KubeRay cluster).

Every Ray Train worker runs the stage through the same entry point as the other
launchers, :func:`training.main.main`, with the same ``--stage``/``--set``
arguments (:func:`~training.launchers.stage_args.remote_args`). Ray Train sets
up the torch process group (``RANK``, ``WORLD_SIZE`` …) before the loop, so the
trainer's ``accelerate`` sees one data-parallel job of ``num_workers`` ranks.
The settings travel as data (written to a file in each worker), because the
caller's files do not exist on a remote cluster; the store must be shared.

For a remote cluster (``address: ray://…``, e.g. a KubeRay head) the job's Ray
``runtime_env`` ships what the workers need of this process: code
(``working_dir``/``py_modules``, when the cluster image lacks it) and
environment variables. Credentials are never part of the config: the profile
names variables (``forward_env``) whose values are read from this process's
environment at launch, and only their names are logged.

The fit runs as a Ray task so ``launch`` returns at once and ``wait`` can stop it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from training.launchers.base import LaunchError, TrainJob, published_result
from training.launchers.config import RayConfig, RayRuntimeEnvConfig, load_launchers_config
from training.launchers.stage_args import remote_args
from vidforge.logging import get_logger

if TYPE_CHECKING:
    from ray import ObjectRef

    from training.config import StageConfig
    from training.result import StageResult
    from vidforge.settings import Settings

log = get_logger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]


def _local_or_uri(path: str, root: Path) -> str:
    """``path`` resolved against ``root`` (a URI such as ``s3://…/pkg.zip`` is kept).

    Raises:
        FileNotFoundError: a local path that does not exist.
    """
    if "://" in path:
        return path
    resolved = (root / path).resolve()
    if not resolved.exists():
        raise FileNotFoundError(f"ray runtime_env path {path!r} does not exist (resolved: {resolved})")
    return str(resolved)


def build_runtime_env(
    cfg: RayRuntimeEnvConfig, environ: Mapping[str, str], root: Path = REPO_ROOT
) -> dict[str, Any]:
    """The Ray ``runtime_env`` dict of ``cfg``; empty keys are left out.

    Args:
        cfg: working dir, modules, excludes, literal variables and names to forward.
        environ: where ``cfg.forward_env`` values are read (``os.environ`` at launch);
            a name that is not set there is skipped (the cluster may provide it itself).
        root: base of relative ``working_dir``/``py_modules`` paths (the repository).

    Raises:
        FileNotFoundError: a local ``working_dir``/``py_modules`` path does not exist.
    """
    out: dict[str, Any] = {}
    if cfg.working_dir:
        out["working_dir"] = _local_or_uri(cfg.working_dir, root)
    if cfg.py_modules:
        out["py_modules"] = [_local_or_uri(m, root) for m in cfg.py_modules]
    if out and cfg.excludes:
        out["excludes"] = list(cfg.excludes)
    env = dict(cfg.env_vars)
    env.update({name: environ[name] for name in cfg.forward_env if name in environ})
    if env:
        out["env_vars"] = env
    return out


def describe_runtime_env(runtime_env: Mapping[str, Any]) -> dict[str, Any]:
    """``runtime_env`` fit for a log line: variable names only, never their values."""
    return {k: sorted(v) if k == "env_vars" else v for k, v in runtime_env.items()}


def train_loop(loop_config: dict[str, Any]) -> None:
    """Ray Train worker loop: ``training.main.main(args + ["--config", <settings file>])``.

    Args:
        loop_config: ``args`` (``training.main`` arguments without ``--config``),
            ``settings`` (settings as a JSON-ready dict), ``env`` (extra environment).

    Raises:
        RuntimeError: ``training.main`` exited non-zero on this worker.
    """
    from training.main import main

    os.environ.update(loop_config["env"])
    with tempfile.TemporaryDirectory(prefix="vf-ray-") as tmp:
        settings_file = Path(tmp) / "settings.yaml"
        settings_file.write_text(yaml.safe_dump(loop_config["settings"]))
        rc = main([*loop_config["args"], "--config", str(settings_file)])
    if rc != 0:
        raise RuntimeError(f"training.main exited with code {rc}")


def fit_stage(loop_config: dict[str, Any], ray_config: dict[str, Any], run_name: str) -> None:
    """Run :func:`train_loop` on ``num_workers`` Ray Train workers (called as a Ray task).

    Raises:
        Exception: the training error of a failed worker (as Ray Train reports it).
    """
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    cfg = RayConfig.model_validate(ray_config)
    trainer = TorchTrainer(
        train_loop,
        train_loop_config=loop_config,
        scaling_config=ScalingConfig(num_workers=cfg.num_workers, use_gpu=cfg.use_gpu,
                                     resources_per_worker={"CPU": cfg.cpus_per_worker}),
        run_config=RunConfig(name=run_name, storage_path=cfg.storage_path),
    )
    result = trainer.fit()
    if result.error is not None:
        raise result.error


class RayRun:
    """A stage fitting on Ray (a :class:`~training.launchers.base.RunHandle`)."""

    def __init__(self, ref: ObjectRef[None], settings: Settings, stage: StageConfig, job: TrainJob) -> None:
        self.ref, self.settings, self.stage, self.job = ref, settings, stage, job

    def wait(self, timeout: float | None = None) -> StageResult:
        """Wait for the fit; return ``result.json`` from the store.

        Raises:
            LaunchError: the fit failed or published no result.
            TimeoutError: not done within ``timeout`` s (the fit is cancelled).
        """
        import ray
        from ray.exceptions import GetTimeoutError, RayError

        try:
            ray.get(self.ref, timeout=timeout)
        except GetTimeoutError:
            ray.cancel(self.ref, force=True)
            raise TimeoutError(f"stage {self.stage.name} of run {self.job.run_id} exceeded {timeout}s on Ray; "
                               "cancelled") from None
        except RayError as e:
            raise LaunchError(f"stage {self.stage.name} of run {self.job.run_id} failed on Ray: {e}") from e
        return published_result(self.settings, self.stage, self.job, "the Ray fit ended without error")


class RayLauncher:
    """Runs stages with Ray Train (a :class:`~training.launchers.base.Launcher`).

    Args:
        settings: settings shipped to the workers and used to read ``result.json``; the
            store must be reachable from the workers (any store locally, S3 on a cluster).
        config: workers, GPUs and cluster address; None = the ``default`` launcher profile.
            With ``address`` None an already started Ray is used, else a local one is started.
    """

    def __init__(self, settings: Settings, config: RayConfig | None = None) -> None:
        self.settings = settings
        self.config = config or load_launchers_config().ray

    def runtime_env(self, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The job's Ray ``runtime_env`` (see :func:`build_runtime_env`; ``environ`` None = ``os.environ``)."""
        return build_runtime_env(self.config.runtime_env, os.environ if environ is None else environ)

    def connect(self, runtime_env: Mapping[str, Any] | None = None) -> None:
        """Join the configured Ray cluster (or start a local one) with ``runtime_env``, unless connected.

        An already connected driver keeps its job-level runtime_env; the fit task still gets
        the variables (:meth:`launch`), but code to upload is then ignored with a warning.
        """
        import ray

        runtime_env = dict(runtime_env if runtime_env is not None else self.runtime_env())
        if ray.is_initialized():
            if {"working_dir", "py_modules"} & runtime_env.keys():
                log.warning("ray already initialised: working_dir/py_modules of the profile not applied")
            return
        log.info("ray connect", address=self.config.address or "local", runtime_env=describe_runtime_env(runtime_env))
        if self.config.address:
            ray.init(address=self.config.address, runtime_env=runtime_env)
        else:
            ray.init(include_dashboard=False, runtime_env=runtime_env)

    def loop_config(self, stage: StageConfig, job: TrainJob) -> dict[str, Any]:
        """The ``train_loop_config`` every worker gets (see :func:`train_loop`)."""
        return {
            "args": remote_args(stage, job, settings_file=None),
            "settings": self.settings.model_dump(mode="json"),
            "env": dict(job.env),
        }

    def launch(self, stage: StageConfig, job: TrainJob) -> RayRun:
        """Submit the fit of ``stage`` for ``job``; return its handle at once."""
        import ray

        runtime_env = self.runtime_env()
        self.connect(runtime_env)
        # the variables also go to the task (Ray merges env_vars into the job's), so they reach
        # the Ray Train workers it starts even when the driver was connected beforehand
        task_env = {"env_vars": runtime_env["env_vars"]} if "env_vars" in runtime_env else None
        fit = ray.remote(num_cpus=0, max_retries=0, runtime_env=task_env)(fit_stage)
        ref = fit.remote(self.loop_config(stage, job), self.config.model_dump(), f"{job.run_id}-{stage.name}")
        log.info("ray fit submitted", stage=stage.name, run_id=job.run_id, workers=self.config.num_workers,
                 address=self.config.address or "local")
        return RayRun(ref, self.settings, stage, job)
