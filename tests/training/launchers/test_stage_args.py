"""One StageConfig, unchanged, on the local, Kubernetes pod, Kubeflow TrainJob and Ray launchers."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from training.config import StageConfig, load_stage_config
from training.launchers.base import TrainJob, main_args
from training.launchers.config import RayConfig, load_launchers_config
from training.launchers.pod_spec import build_pod
from training.launchers.ray import RayLauncher
from training.launchers.stage_args import remote_args, stage_sets
from training.launchers.trainjob import build_trainjob
from training.main import build_parser, parse_sets
from vidforge.settings import get_settings

JOB = TrainJob("run-x", "tiny", "v3", init_uri="s3://vidforge/runs/run-x/stage1_image/final",
               settings_file="/airflow/settings.yaml")
OVERRIDES = {"steps": 7, "lr": 3e-5, "ema_decay": None, "train_spatial": False, "select_by": "aesthetic",
             "select_top_fraction": 0.25, "model_config": "tiny", "seed": 11}


def _parsed(argv: list[str]) -> tuple[StageConfig, tuple[str, str, str, str | None]]:
    """What training.main makes of ``argv``: the stage config and (run, dataset, version, init)."""
    args = build_parser().parse_args(argv)
    cfg = load_stage_config(args.stage, parse_sets(args.sets))
    return cfg, (args.run_id, args.dataset, args.dataset_version, args.init)


def test_unchanged_stage_needs_no_sets() -> None:
    assert stage_sets(load_stage_config("stage3_finetune")) == []


def test_sets_round_trip_through_training_main() -> None:
    stage = load_stage_config("stage2_video", OVERRIDES)
    cfg, _ = _parsed(remote_args(stage, JOB))
    assert cfg == stage


def test_unpackaged_stage_is_refused() -> None:
    stage = load_stage_config("stage1_image").model_copy(update={"name": "my-experiment"})
    with pytest.raises(ValueError, match="no packaged config"):
        remote_args(stage, JOB)


def test_same_stage_config_on_all_launchers(tmp_path: Path) -> None:
    stage = load_stage_config("stage2_video", OVERRIDES)
    profile = load_launchers_config()
    # local: LocalLauncher writes the config to stage.yaml and passes its path
    stage_file = tmp_path / "stage.yaml"
    stage_file.write_text(yaml.safe_dump(stage.to_yaml_dict(), sort_keys=False))
    ray = RayLauncher(get_settings(overrides={"home": str(tmp_path)}), RayConfig())
    argvs = {
        "local": main_args(str(stage_file), JOB),
        "pod": build_pod(profile.kubernetes, stage, JOB)["spec"]["containers"][0]["args"],
        # every torchrun process of every node runs training.main with these
        "trainjob": build_trainjob(profile.kubernetes, profile.trainjob, stage, JOB)["spec"]["trainer"]["args"],
        "ray": ray.loop_config(stage, JOB)["args"],
    }
    expected = (stage, ("run-x", "tiny", "v3", JOB.init_uri))
    assert {name: _parsed(argv) for name, argv in argvs.items()} == dict.fromkeys(argvs, expected)


def test_changed_phases_round_trip_through_training_main() -> None:
    phases = [{"name": "low", "steps": 3, "lr": 2e-4}, {"name": "high", "height": 64, "width": 96, "p_mean": 0.0}]
    stage = load_stage_config("stage2_video", {**OVERRIDES, "phases": phases, "force_resume": True})
    cfg, _ = _parsed(remote_args(stage, JOB))
    assert cfg == stage and cfg.at_step(4).width == 96
