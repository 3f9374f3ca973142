"""Run a stage as a local subprocess: ``sys.executable -m training.main …``.

The stage config is written next to the log in the local run directory
(``<home>/runs/<run_id>/<stage>/``: ``stage.yaml``, ``settings.yaml``,
``train.log``) so the process sees exactly the (overridden) config it was
given. Output streams to ``train.log`` and, when ``echo`` is on, to this
process's stderr. The child gets the launcher's settings as a YAML file and no
inherited ``VIDFORGE_*`` variables, so it cannot disagree with the parent.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import deque
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from training.launchers.base import LaunchError, TrainJob, main_args, published_result

if TYPE_CHECKING:
    from training.config import StageConfig
    from training.result import StageResult
    from vidforge.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
TAIL_LINES = 40


class LocalRun:
    """A running ``training.main`` subprocess (a :class:`~training.launchers.base.RunHandle`)."""

    def __init__(self, proc: subprocess.Popen[str], log_path: Path, settings: Settings,
                 stage: StageConfig, job: TrainJob, echo: bool) -> None:
        self.proc, self.log_path, self.settings = proc, log_path, settings
        self.stage, self.job = stage, job
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)
        self._pump = threading.Thread(target=self._stream, args=(echo,), daemon=True)
        self._pump.start()

    def _stream(self, echo: bool) -> None:
        assert self.proc.stdout is not None
        with self.log_path.open("a") as log:
            for line in self.proc.stdout:
                log.write(line)
                log.flush()
                self.tail.append(line.rstrip("\n"))
                if echo:
                    sys.stderr.write(line)

    def wait(self, timeout: float | None = None) -> StageResult:
        """Wait for the process; return ``result.json`` from the store."""
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self._pump.join(timeout=5)
            raise TimeoutError(
                f"stage {self.stage.name} of run {self.job.run_id} exceeded {timeout}s; "
                f"log {self.log_path}:\n{self._tail()}"
            ) from None
        self._pump.join(timeout=30)
        if rc != 0:
            raise LaunchError(
                f"stage {self.stage.name} of run {self.job.run_id} failed with exit code {rc}; "
                f"last lines of {self.log_path}:\n{self._tail()}"
            )
        return published_result(self.settings, self.stage, self.job,
                                lambda: f"the process exited 0. Log tail:\n{self._tail()}")

    def _tail(self) -> str:
        return "\n".join(self.tail)


class LocalLauncher:
    """Runs stages as subprocesses of this Python (a :class:`~training.launchers.base.Launcher`)."""

    def __init__(self, settings: Settings, run_root: str | Path | None = None, echo: bool = True) -> None:
        self.settings = settings
        self.run_root = Path(run_root) if run_root else settings.home / "runs"
        self.echo = echo

    def launch(self, stage: StageConfig, job: TrainJob) -> LocalRun:
        """Write the stage config, start ``training.main``, return the running handle."""
        run_dir = self.run_root / job.run_id / stage.name
        run_dir.mkdir(parents=True, exist_ok=True)
        stage_file = run_dir / "stage.yaml"
        stage_file.write_text(yaml.safe_dump(stage.to_yaml_dict(), sort_keys=False))
        if job.settings_file is None:
            settings_file = run_dir / "settings.yaml"
            settings_file.write_text(yaml.safe_dump(self.settings.model_dump(mode="json")))
            job = replace(job, settings_file=str(settings_file))
        cmd = [sys.executable, "-m", "training.main", *main_args(str(stage_file), job)]
        log_path = run_dir / "train.log"
        log_path.write_text(f"$ {' '.join(cmd)}\n")
        proc = subprocess.Popen(
            cmd, cwd=REPO_ROOT, env=self._env(job), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, bufsize=1, start_new_session=True,
        )
        return LocalRun(proc, log_path, self.settings, stage, job, self.echo)

    @staticmethod
    def _env(job: TrainJob) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VIDFORGE_")}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
        env["PYTHONUNBUFFERED"] = "1"
        env.update(job.env)
        return env
