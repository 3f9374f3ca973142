"""Launcher profiles (configs/training/launchers/*.yaml) as typed settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from training.config import CONFIG_DIR, STAGE_ORDER
from training.launchers.config import (
    KubernetesConfig,
    LaunchersConfig,
    Toleration,
    TrainJobConfig,
    load_launchers_config,
)


def test_default_profile_loads() -> None:
    cfg = load_launchers_config()
    assert cfg.kubernetes.gpus == 1 and cfg.kubernetes.shm_size.endswith("Gi")
    assert cfg.kubernetes.tolerations == (Toleration(key="nvidia.com/gpu", effect="NoSchedule"),)
    assert cfg.ray.address is None
    assert cfg.trainjob.num_nodes >= 2 and cfg.trainjob.runtime_name == "torch-distributed"


def test_profiles_do_not_shadow_stage_configs() -> None:
    assert sorted(p.stem for p in CONFIG_DIR.glob("*.yaml")) == sorted(STAGE_ORDER)


def test_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(FileNotFoundError, match="known: default"):
        load_launchers_config("nope")


@pytest.mark.parametrize("bad", [
    {"image": ""}, {"gpus": -1}, {"memory": "lots"}, {"namespace": "Not_DNS"}, {"active_deadline_s": 0},
    {"shm_size": "1 GB"}, {"unknown_field": 1}, {"tolerations": [{"key": "k", "operator": "Maybe"}]},
])
def test_bad_kubernetes_values_are_rejected(bad: dict) -> None:
    with pytest.raises(ValidationError):
        KubernetesConfig.model_validate({"image": "vidforge:1", **bad})


def test_profile_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "kuberay.yaml"
    path.write_text("kubernetes: {image: 'reg/vidforge:2', gpus: 8}\nray: {address: 'ray://head:10001', "
                    "num_workers: 8, use_gpu: true}\n")
    cfg = load_launchers_config(path)
    assert cfg == LaunchersConfig.model_validate({
        "kubernetes": {"image": "reg/vidforge:2", "gpus": 8},
        "ray": {"address": "ray://head:10001", "num_workers": 8, "use_gpu": True},
    })


@pytest.mark.parametrize("bad", [
    {"num_nodes": 0}, {"procs_per_node": 0}, {"runtime_name": "Torch_Distributed"}, {"runtime_kind": "PyTorchJob"},
    {"s3_secret_keys": ["AWS KEY"]}, {"manager": ""}, {"numNodes": 2},
])
def test_bad_trainjob_values_are_rejected(bad: dict) -> None:
    with pytest.raises(ValidationError):
        TrainJobConfig.model_validate(bad)


def test_trainjob_and_ray_runtime_env_from_a_profile(tmp_path: Path) -> None:
    path = tmp_path / "multinode.yaml"
    path.write_text("kubernetes: {image: 'reg/vidforge:2', gpus: 8}\n"
                    "trainjob: {num_nodes: 4, runtime_name: torch-distributed-cuda}\n"
                    "ray: {address: 'ray://head:10001', runtime_env: {py_modules: [training, vidforge], "
                    "forward_env: [AWS_ACCESS_KEY_ID]}}\n")
    cfg = load_launchers_config(path)
    assert (cfg.trainjob.num_nodes, cfg.trainjob.runtime_name, cfg.trainjob.procs_per_node) == (
        4, "torch-distributed-cuda", None)
    assert cfg.ray.runtime_env.py_modules == ("training", "vidforge")
    assert cfg.ray.runtime_env.forward_env == ("AWS_ACCESS_KEY_ID",)
