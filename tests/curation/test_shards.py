"""Shards plus one global step: the per-source work runs per shard, once, and the result equals one run."""

from __future__ import annotations

from pathlib import Path

import pytest

from curation.api import curate_shard_task, curate_task, plan_shards_task
from curation.synthetic import GroundTruth


def test_plan_shards_keeps_order_and_size() -> None:
    assert plan_shards_task(["a", "b", "c", "d", "e"], 2) == [["a", "b"], ["c", "d"], ["e"]]
    assert plan_shards_task([], 3) == []
    with pytest.raises(ValueError, match="at least 1"):
        plan_shards_task(["a"], 0)


def test_sharded_run_equals_one_run_and_retries_redo_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_suite: list[GroundTruth]
) -> None:
    sources = [str(t.path) for t in demo_suite[:3]]
    monkeypatch.setenv("VIDFORGE_HOME", str(tmp_path / "one"))
    single = curate_task(sources, "ds", "v1", overrides={"pipeline.resume": False})

    monkeypatch.setenv("VIDFORGE_HOME", str(tmp_path / "sharded"))
    shards = plan_shards_task(sources, 2)
    first = [curate_shard_task(shard, "ds", "v1") for shard in shards]
    assert [s["processed"] for s in first] == [2, 1] and all(s["restored"] == 0 for s in first)
    retried = curate_shard_task(shards[0], "ds", "v1")  # a retried shard restores, runs nothing
    assert (retried["restored"], retried["processed"]) == (2, 0)
    sharded = curate_task(sources, "ds", "v1")  # the global step
    assert sharded["extra"]["resume"]["restored"] == 3 and sharded["extra"]["resume"]["processed"] == 0
    for key in ("inputs", "clips_in", "clips_kept", "clips_filtered", "clips_quarantined", "sources_quarantined"):
        assert sharded[key] == single[key], key
    clips = sorted((tmp_path / "sharded" / "store" / "datasets" / "ds" / "v1" / "clips").glob("*.mp4"))
    assert len(clips) == sharded["clips_kept"]  # each kept clip uploaded once


def test_without_the_cache_a_shard_defers_to_the_global_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_suite: list[GroundTruth]
) -> None:
    monkeypatch.setenv("VIDFORGE_HOME", str(tmp_path / "home"))
    done = curate_shard_task([str(demo_suite[0].path)], "ds", "v1", overrides={"pipeline.resume": False})
    assert done["processed"] == 0 and "global step" in done["skipped"]
