"""LocalLauncher: stages as real ``python -m training.main`` subprocesses."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.support.tiny_dataset import DATASET, VERSION
from training.api import run_stage
from training.config import load_stage_config
from training.launchers import LaunchError, LocalLauncher, TrainJob
from vidforge.settings import Settings, get_settings
from vidforge.store import LocalStore


def _settings(store: LocalStore, tmp_path: Path) -> Settings:
    return get_settings(overrides={"home": str(tmp_path / "home"), "store": {"uri": store.root_uri}})


def _unet(store: LocalStore, checkpoint_uri: str) -> dict[str, torch.Tensor]:
    final = store.local_path(store.key_of(checkpoint_uri))
    return load_file(final / "unet" / "diffusion_pytorch_model.safetensors")


@pytest.mark.slow
def test_two_stages_chain_through_subprocesses(store_copy: LocalStore, tmp_path: Path) -> None:
    settings = _settings(store_copy, tmp_path)
    first = run_stage(settings, "run-l", "stage1_image", DATASET, VERSION,
                      overrides={"steps": 2, "batch_size": 2, "checkpoint_every": 0})
    # lr = 0 and no EMA: stage II's output weights are exactly the weights it started from
    second = run_stage(settings, "run-l", "stage2_video", DATASET, VERSION, init_uri=first.checkpoint_uri,
                       overrides={"steps": 1, "lr": 0.0, "ema_decay": None, "checkpoint_every": 0})
    assert second.init_uri == first.checkpoint_uri and second.steps == 1
    assert second.last_loss is not None and second.last_loss > 0
    w1, w2 = _unet(store_copy, first.checkpoint_uri), _unet(store_copy, second.checkpoint_uri)
    assert w1.keys() == w2.keys() and all(torch.equal(w1[k], w2[k]) for k in w1)
    log = tmp_path / "home" / "runs" / "run-l" / "stage2_video" / "train.log"
    assert "stage done" in log.read_text() and (log.parent / "stage.yaml").is_file()


def test_failure_raises_with_log_tail(store_copy: LocalStore, tmp_path: Path) -> None:
    launcher = LocalLauncher(_settings(store_copy, tmp_path), echo=False)
    job = TrainJob("run-f", DATASET, VERSION, settings_file=str(tmp_path / "missing.yaml"))
    handle = launcher.launch(load_stage_config("stage1_image"), job)
    with pytest.raises(LaunchError, match=r"exit code 2(.|\n)*config file not found"):
        handle.wait(timeout=120)


def test_timeout_stops_the_process(store_copy: LocalStore, tmp_path: Path) -> None:
    launcher = LocalLauncher(_settings(store_copy, tmp_path), echo=False)
    handle = launcher.launch(load_stage_config("stage1_image"), TrainJob("run-t", DATASET, VERSION))
    with pytest.raises(TimeoutError, match="exceeded"):
        handle.wait(timeout=0.5)
    assert handle.proc.poll() is not None
    assert not store_copy.list("runs/run-t")
