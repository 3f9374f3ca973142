"""The launcher contract: ``launch(stage, job) -> RunHandle``; ``handle.wait() -> StageResult``.

A launcher starts ``python -m training.main`` for one :class:`StageConfig`
somewhere (subprocess, pod, Ray task). Results travel through the object
store (``runs/<run_id>/<stage>/result.json``), never through stdout or XCom.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from training.result import read_result
from vidforge.store import open_store

if TYPE_CHECKING:
    from training.config import StageConfig
    from training.result import StageResult
    from vidforge.settings import Settings


class LaunchError(RuntimeError):
    """A stage process failed or finished without publishing ``result.json``."""


@dataclass(frozen=True)
class TrainJob:
    """What to train a stage on, independent of where it runs.

    Attributes:
        run_id: the training run (outputs go to ``runs/<run_id>/<stage>/``).
        dataset_name / dataset_version: a published dataset version.
        init_uri: URI of a previous stage's ``final/``; None = build from the model config.
        settings_file: platform settings YAML for the stage process; None = the launcher's own.
        env: extra environment variables for the stage process (e.g. ``VIDFORGE_STORE__URI``).
    """

    run_id: str
    dataset_name: str
    dataset_version: str
    init_uri: str | None = None
    settings_file: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)


class RunHandle(Protocol):
    """A launched stage."""

    def wait(self, timeout: float | None = None) -> StageResult:
        """Block until the stage ends; return its result read from the object store.

        Raises:
            LaunchError: the stage failed or published no result.
            TimeoutError: it did not end within ``timeout`` seconds (it is stopped).
        """
        ...


class Launcher(Protocol):
    """Starts stage processes."""

    def launch(self, stage: StageConfig, job: TrainJob) -> RunHandle:
        """Start ``stage`` for ``job``; return at once with a handle."""
        ...


def main_args(stage_ref: str, job: TrainJob) -> list[str]:
    """Arguments of ``python -m training.main`` for a stage file/name and a job."""
    args = ["--stage", stage_ref, "--run-id", job.run_id, "--dataset", job.dataset_name,
            "--dataset-version", job.dataset_version]
    if job.init_uri:
        args += ["--init", job.init_uri]
    if job.settings_file:
        args += ["--config", job.settings_file]
    return args


def published_result(settings: Settings, stage: StageConfig, job: TrainJob,
                     detail: str | Callable[[], str]) -> StageResult:
    """The ``result.json`` the stage process published, read from the store of ``settings``.

    Args:
        settings: settings whose object store holds ``runs/<run_id>/<stage>/result.json``.
        stage / job: the stage and job that ran.
        detail: what the error message adds when there is no result (how the run ended); a
            callable is called only then (e.g. to fetch a log tail).

    Raises:
        LaunchError: the run ended without publishing ``result.json``.
    """
    try:
        return read_result(open_store(settings.store), job.run_id, stage.name)
    except FileNotFoundError as e:
        raise LaunchError(f"{e}; {detail() if callable(detail) else detail}") from e
