"""RayLauncher: a stage fitted by Ray Train's TorchTrainer on a local 2-CPU Ray."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.tiny_dataset import DATASET, VERSION
from training.config import load_stage_config
from training.launchers import TrainJob
from training.launchers.config import RayConfig, load_launchers_config
from training.launchers.ray import RayLauncher, train_loop
from vidforge.settings import Settings, get_settings
from vidforge.store import LocalStore


def _settings(store: LocalStore, tmp_path: Path) -> Settings:
    return get_settings(overrides={"home": str(tmp_path / "home"), "store": {"uri": store.root_uri}})


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_default_profile_has_ray_settings() -> None:
    ray = load_launchers_config().ray
    assert ray.num_workers >= 1 and ray.address is None


def test_loop_config_carries_the_stage_and_settings(tmp_path: Path) -> None:
    settings = get_settings(overrides={"home": str(tmp_path)})
    launcher = RayLauncher(settings, RayConfig(address="ray://head:10001", num_workers=4, use_gpu=True))
    stage = load_stage_config("stage1_image", {"steps": 5})
    loop = launcher.loop_config(stage, TrainJob("r", "d", "v1", settings_file="/not/on/the/cluster.yaml",
                                                env={"A": "1"}))
    assert loop["args"][:2] == ["--stage", "stage1_image"] and "--config" not in loop["args"]
    assert loop["args"][-2:] == ["--set", "steps=5"]
    assert loop["settings"]["home"] == str(tmp_path) and loop["env"] == {"A": "1"}


@pytest.mark.slow
def test_stage_on_two_ray_workers_publishes_a_loadable_checkpoint(
    local_ray: None, store_copy: LocalStore, tmp_path: Path
) -> None:
    from training.model import load_pipeline

    settings = _settings(store_copy, tmp_path)
    launcher = RayLauncher(settings, RayConfig(num_workers=2, cpus_per_worker=1,
                                               storage_path=str(tmp_path / "ray")))
    stage = load_stage_config("stage1_image", {"steps": 1, "batch_size": 2, "checkpoint_every": 0})
    result = launcher.launch(stage, TrainJob("run-ray", DATASET, VERSION)).wait(timeout=240)
    assert result.run_id == "run-ray" and result.steps == 1 and result.last_loss is not None
    assert store_copy.exists("runs/run-ray/stage1_image/result.json")
    pipe = load_pipeline(store_copy.local_path(store_copy.key_of(result.checkpoint_uri)))
    assert pipe.unet is not None


def test_worker_loop_raises_when_the_stage_process_fails(tmp_path: Path) -> None:
    # a bad override makes training.main exit 2 before any training: the worker must fail, not pass
    loop = {"args": ["--stage", "stage1_image", "--run-id", "r", "--dataset", "d", "--dataset-version", "v1",
                     "--set", "steps=-1"],
            "settings": get_settings(overrides={"home": str(tmp_path)}).model_dump(mode="json"), "env": {}}
    with pytest.raises(RuntimeError, match="exited with code 2"):
        train_loop(loop)


def test_api_launcher_table_knows_ray(tmp_path: Path) -> None:
    from training.api import get_launcher

    assert isinstance(get_launcher("ray", get_settings(overrides={"home": str(tmp_path)})), RayLauncher)
