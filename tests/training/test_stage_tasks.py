"""The train DAG's per-stage entry points: where a stage runs, its pod, its result."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.launchers import LaunchError
from training.launchers.pod_spec import pod_labels
from training.result import StageResult, write_result
from training.stage_tasks import launcher_for, route_stage, stage_result_task
from vidforge.settings import Settings, get_settings
from vidforge.store import open_store

JOB = {"run_id": "run-7", "dataset": "tiny", "version": "v1", "launcher": ""}


def _settings(tmp_path: Path, **training: str) -> Settings:
    return get_settings(overrides={"home": str(tmp_path), "training": training})


def test_asset_triggered_runs_use_the_deployments_launcher(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # an asset event carries no launcher param: the deployment's settings decide, not a "local" default
    monkeypatch.setenv("VIDFORGE_TRAINING__LAUNCHER", "kubernetes")
    deployed = get_settings(overrides={"home": str(tmp_path)})
    assert launcher_for("", deployed) == "kubernetes"
    assert launcher_for(None, deployed) == "kubernetes"
    assert launcher_for("ray", deployed) == "ray"  # the run's param only overrides it
    with pytest.raises(ValueError, match="known: local"):
        launcher_for("slurm", deployed)


def test_kubernetes_route_carries_the_deployments_pod(tmp_path: Path) -> None:
    settings = _settings(tmp_path, launcher="kubernetes", image="registry.example/vidforge:1.2.3-cuda")
    route = route_stage(settings, JOB, "stage2_video", {"checkpoint_uri": "s3://b/runs/run-7/stage1_image/final"})
    assert route["branch"] == "pod" and route["labels"] == pod_labels("run-7", "stage2_video")
    pod = route["pod"]
    (container,) = pod["spec"]["containers"]
    assert container["image"] == "registry.example/vidforge:1.2.3-cuda"
    assert container["resources"]["limits"]["nvidia.com/gpu"] >= 1  # the default profile's GPU shape
    assert pod["metadata"]["labels"] == route["labels"]
    assert len(pod["metadata"]["name"]) <= 54 and "-t1-" not in pod["metadata"]["name"]  # room for the suffix
    assert "--init" in container["args"]


def test_other_launchers_run_in_the_task_and_a_published_stage_is_not_rerun(tmp_path: Path) -> None:
    settings = _settings(tmp_path, launcher="local")
    assert route_stage(settings, JOB, "stage1_image")["branch"] == "run"
    with pytest.raises(LaunchError, match="published no result"):
        stage_result_task(settings, JOB, "stage1_image")
    done = StageResult(stage="stage1_image", run_id="run-7", steps=1, first_loss=1.0, last_loss=0.5,
                       checkpoint_uri="file:///final", sha256="0" * 64, metrics_uri="file:///m",
                       dataset_name="tiny", dataset_version="v1", init_uri=None, elapsed_s=1.0)
    write_result(open_store(settings.store), done)
    assert route_stage(settings, JOB, "stage1_image")["branch"] is None
    assert stage_result_task(settings, JOB, "stage1_image")["checkpoint_uri"] == "file:///final"
    with pytest.raises(ValueError, match="already has stage"):
        route_stage(settings, {**JOB, "version": "v2"}, "stage1_image")
