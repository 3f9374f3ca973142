"""result.json round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.result import StageResult, read_result, result_key, write_result
from vidforge.store import LocalStore

RESULT = StageResult(
    stage="stage2_video", run_id="r1", steps=4, first_loss=0.9, last_loss=0.7,
    checkpoint_uri="file:///s/runs/r1/stage2_video/final", sha256="ab" * 32,
    metrics_uri="file:///s/runs/r1/stage2_video/metrics.jsonl", dataset_name="d",
    dataset_version="v1", init_uri=None, elapsed_s=1.5,
)


def test_round_trip(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    uri = write_result(store, RESULT)
    assert uri.endswith("runs/r1/stage2_video/result.json")
    assert read_result(store, "r1", "stage2_video") == RESULT
    data = json.loads(store.get_bytes(result_key("r1", "stage2_video")))
    assert set(data) == {
        "stage", "run_id", "steps", "first_loss", "last_loss", "checkpoint_uri", "sha256",
        "metrics_uri", "dataset_name", "dataset_version", "init_uri", "elapsed_s",
    }
    assert StageResult.from_dict({**data, "added_later": 1}) == RESULT


def test_missing_result(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no result"):
        read_result(LocalStore(tmp_path), "r1", "stage1_image")
