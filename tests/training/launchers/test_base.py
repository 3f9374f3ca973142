"""The launcher contract's shared argument builder."""

from __future__ import annotations

from training.launchers.base import TrainJob, main_args


def test_main_args() -> None:
    job = TrainJob("r", "d", "v1", init_uri="file:///x/final", settings_file="/s.yaml")
    assert main_args("stage2_video", job) == [
        "--stage", "stage2_video", "--run-id", "r", "--dataset", "d", "--dataset-version", "v1",
        "--init", "file:///x/final", "--config", "/s.yaml",
    ]
    assert "--init" not in main_args("s", TrainJob("r", "d", "v1"))
