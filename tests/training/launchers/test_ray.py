"""RayLauncher: a stage fitted by Ray Train's TorchTrainer on a local 2-CPU Ray."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from tests.support.tiny_dataset import DATASET, VERSION
from training.config import load_stage_config
from training.launchers import TrainJob
from training.launchers.config import RayConfig, RayRuntimeEnvConfig, load_launchers_config
from training.launchers.ray import REPO_ROOT, RayLauncher, build_runtime_env, describe_runtime_env, train_loop
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
    # a task-level runtime_env (env_vars) on the fit, as a KubeRay profile would have
    launcher = RayLauncher(settings, RayConfig(num_workers=2, cpus_per_worker=1, storage_path=str(tmp_path / "ray"),
                                               runtime_env=RayRuntimeEnvConfig(env_vars={"NCCL_DEBUG": "WARN"})))
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


SECRET = "wJalrXUtnFEMI-not-a-real-key"


def _kuberay(**runtime_env: object) -> RayConfig:
    return RayConfig.model_validate({"address": "ray://head.kuberay:10001", "num_workers": 4, "use_gpu": True,
                                     "runtime_env": runtime_env})


def test_runtime_env_from_config_and_environment() -> None:
    cfg = _kuberay(working_dir=".", py_modules=["training", "s3://bucket/pkgs/extra.zip"], excludes=[".venv"],
                   env_vars={"NCCL_DEBUG": "INFO"}, forward_env=["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                                                 "AWS_SESSION_TOKEN"])
    env = build_runtime_env(cfg.runtime_env, {"AWS_ACCESS_KEY_ID": "AKIA1", "AWS_SECRET_ACCESS_KEY": SECRET,
                                              "HOME": "/root"})
    assert env == {
        "working_dir": str(REPO_ROOT),
        "py_modules": [str(REPO_ROOT / "training"), "s3://bucket/pkgs/extra.zip"],
        "excludes": [".venv"],
        # only the named variables, and only those set (AWS_SESSION_TOKEN is not)
        "env_vars": {"NCCL_DEBUG": "INFO", "AWS_ACCESS_KEY_ID": "AKIA1", "AWS_SECRET_ACCESS_KEY": SECRET},
    }
    assert build_runtime_env(RayRuntimeEnvConfig(excludes=(".venv",)), {}) == {}  # nothing to ship


def test_missing_runtime_env_path_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no-such-dir"):
        build_runtime_env(RayRuntimeEnvConfig(working_dir="no-such-dir"), {}, root=tmp_path)


def test_forwarded_secrets_stay_out_of_config_dumps_and_logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    cfg = _kuberay(forward_env=["AWS_SECRET_ACCESS_KEY"])
    launcher = RayLauncher(get_settings(overrides={"home": str(tmp_path)}), cfg)
    runtime_env = launcher.runtime_env()
    assert runtime_env["env_vars"]["AWS_SECRET_ACCESS_KEY"] == SECRET  # what Ray gets
    shipped = [cfg.model_dump(), launcher.loop_config(load_stage_config("stage1_image"), TrainJob("r", "d", "v"))]
    dumps = json.dumps(shipped) + yaml.safe_dump(cfg.model_dump(mode="json")) + repr(cfg)
    assert SECRET not in dumps and SECRET not in json.dumps(describe_runtime_env(runtime_env))
    assert describe_runtime_env(runtime_env) == {"env_vars": ["AWS_SECRET_ACCESS_KEY"]}


@pytest.mark.parametrize("env_vars", [{"AWS_SECRET_ACCESS_KEY": "x"}, {"MINIO_ROOT_PASSWORD": "x"},
                                      {"HF_TOKEN": "x"}, {"not a name": "x"}])
def test_literal_credentials_are_refused_in_the_profile(env_vars: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match=r"forward_env|not environment variable names"):
        _kuberay(env_vars=env_vars)


def test_default_profile_runtime_env_forwards_s3_credentials_by_name() -> None:
    runtime_env = load_launchers_config().ray.runtime_env
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= set(runtime_env.forward_env)
    assert runtime_env.env_vars == {} and runtime_env.working_dir is None
