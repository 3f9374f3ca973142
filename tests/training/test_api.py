"""run_stage / run_all_stages with a recording launcher (the real one: launchers/test_local)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from training.api import get_launcher, run_all_stages, run_stage
from training.config import STAGE_ORDER, StageConfig
from training.launchers.base import TrainJob
from training.result import StageResult, write_result
from vidforge.settings import Settings, get_settings
from vidforge.store import LocalStore, open_store


@dataclass
class _Done:
    result: StageResult

    def wait(self, timeout: float | None = None) -> StageResult:
        return self.result


@dataclass
class RecordingLauncher:
    """Publishes a fake result per launch, as a real stage process would."""

    settings: Settings
    calls: list[tuple[StageConfig, TrainJob]] = field(default_factory=list)

    def launch(self, stage: StageConfig, job: TrainJob) -> _Done:
        self.calls.append((stage, job))
        result = StageResult(
            stage=stage.name, run_id=job.run_id, steps=stage.steps, first_loss=1.0, last_loss=0.5,
            checkpoint_uri=f"file:///ckpt/{job.run_id}/{stage.name}/final", sha256="0" * 64,
            metrics_uri="file:///m", dataset_name=job.dataset_name, dataset_version=job.dataset_version,
            init_uri=job.init_uri, elapsed_s=0.1,
        )
        write_result(open_store(self.settings.store), result)
        return _Done(result)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return get_settings(overrides={"home": str(tmp_path)})


def test_run_all_stages_chains_init(settings: Settings) -> None:
    launcher = RecordingLauncher(settings)
    results = run_all_stages(settings, "r1", "d", "v1", launcher=launcher,
                             overrides={"*": {"steps": 2}, "stage3_finetune": {"steps": 1}})
    assert [r.stage for r in results] == list(STAGE_ORDER)
    jobs = [job for _, job in launcher.calls]
    assert jobs[0].init_uri is None
    assert jobs[1].init_uri == results[0].checkpoint_uri and jobs[2].init_uri == results[1].checkpoint_uri
    assert [cfg.steps for cfg, _ in launcher.calls] == [2, 2, 1]
    assert results[2].to_dict()["init_uri"] == results[1].checkpoint_uri


def test_run_stage_is_idempotent_per_run(settings: Settings) -> None:
    launcher = RecordingLauncher(settings)
    first = run_stage(settings, "r2", "stage2_video", "d", "v1", "file:///init", launcher)
    again = run_stage(settings, "r2", "stage2_video", "d", "v1", "file:///init", launcher)
    assert again == first and len(launcher.calls) == 1
    run_stage(settings, "r2", "stage2_video", "d", "v1", "file:///init", launcher, reuse=False)
    assert len(launcher.calls) == 2
    with pytest.raises(ValueError, match="new run id"):
        run_stage(settings, "r2", "stage2_video", "d", "v2", "file:///init", launcher)


def test_unknown_launcher(settings: Settings) -> None:
    assert type(get_launcher("local", settings)).__name__ == "LocalLauncher"
    with pytest.raises(ValueError, match="known: local"):
        run_stage(settings, "r3", "stage1_image", "d", "v1", launcher="slurm")
    assert not LocalStore(settings.home / "store").list("runs")


