"""Stage fusion without Ray: which stages form a group, and a group worker run in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from curation.builders import build_stages
from curation.config import load_config
from curation.fusion import GroupWorker, StageGroup, fuse_stages, unmet_needs
from curation.runner import SequentialRunner, frames_last_used
from curation.stages.base import Resources, Stage
from tests.support.fake_signals import Decode, Score, Tally, clips, outcome, signal_stages
from vidforge.store import LocalStore


def _names(groups: list[StageGroup]) -> list[str]:
    return [group.name for group in groups]


@pytest.fixture
def default_stages(tmp_path: Path) -> list[Stage]:
    return build_stages(load_config(), tmp_path / "work", LocalStore(tmp_path / "store"), "datasets/d/v1")


def test_default_stages_fuse_around_fan_out_and_whole_dataset(default_stages: list[Stage]) -> None:
    groups = fuse_stages(default_stages, {"CPU": 2.0})

    # split fans out: it ends its group; clip consumes clips; filter is whole_dataset; upload follows it
    assert _names(groups) == ["probe+split", "clip+frames+motion+text+captions", "filter", "upload"]
    assert [group.first for group in groups] == [0, 2, 7, 8]
    assert groups[1].resources == Resources(cpus=1.0)  # captions needs 0.25: the max wins
    assert groups[2].whole_dataset and not groups[1].whole_dataset
    last = frames_last_used(default_stages)
    assert default_stages[last].name == "text"  # the default captioner reads no frames
    assert [group.release_after(last) for group in groups] == [-1, 3, -1, -1]
    assert _names(fuse_stages(default_stages, {"CPU": 2.0}, enabled=False)) == [s.name for s in default_stages]


def test_stages_with_different_needs_fuse_only_when_the_max_fits_the_cluster() -> None:
    gpu_score = type("GpuScore", (Score,), {"name": "gpu_score", "resources": Resources(cpus=1.0, gpus=1.0)})
    stages = [Decode(), gpu_score(), Tally()]

    assert _names(fuse_stages(stages, {"CPU": 16.0, "GPU": 1.0})) == ["decode+gpu_score+tally"]
    assert fuse_stages(stages, {"CPU": 16.0, "GPU": 1.0})[0].resources == Resources(cpus=1.0, gpus=1.0)
    # no GPU node yet (an autoscaling cluster): the GPU stage waits alone, the CPU stages do not wait for it
    assert unmet_needs(Resources(cpus=1.0, gpus=1.0), {"CPU": 16.0}) == ["GPU: 1.0 > 0.0"]
    assert unmet_needs(Resources(cpus=4.0), {"CPU": 2.0}) == ["CPU: 4.0 > 2.0"]
    assert unmet_needs(Resources(cpus=2.0), {"CPU": 2.0}) == []
    assert _names(fuse_stages(stages, {"CPU": 16.0})) == ["decode", "gpu_score", "tally"]
    # equal needs cost nothing to fuse, even before the cluster has them
    assert _names(fuse_stages([gpu_score(), gpu_score()], {"CPU": 16.0})) == ["gpu_score+gpu_score"]


def test_a_group_worker_runs_a_batch_as_the_sequential_runner_runs_the_stages() -> None:
    names = ["ok0", "corrupt", "ok2", "boom", "dull", "ok5"]
    worker = GroupWorker(signal_stages())
    worker.setup()
    out, reports = worker.process(clips(names), release_after=1)

    assert outcome(out) == outcome(SequentialRunner(batch_size=6).run(signal_stages(), clips(names)))
    assert outcome(out) == {
        "c0": ("kept", "", 8.0, 0.0, False),
        "c1": ("quarantined", "decode:decode_failed", None, None, False),
        "c2": ("kept", "", 8.0, 0.0, False),
        "c3": ("quarantined", "score:key_error", None, None, False),
        "c4": ("filtered", "tally:dull", 8.0, 0.0, False),  # tally saw no frames: dropped after score
        "c5": ("kept", "", 8.0, 0.0, False),
    }
    decode, score, tally = worker.stages
    assert isinstance(decode, Decode) and isinstance(score, Score) and isinstance(tally, Tally)
    assert (decode.setups, score.setups, tally.setups) == (1, 1, 1)
    # a failing batch is re-run item by item; a later stage gets only what is still kept
    assert decode.seen == [["c0", "c1", "c2", "c3", "c4", "c5"], ["c0"], ["c1"], ["c2"], ["c3"], ["c4"], ["c5"]]
    assert score.seen[0] == ["c0", "c2", "c3", "c4", "c5"]
    assert tally.seen == [["c0", "c2", "c4", "c5"]]
    assert [(r.inputs, r.counts) for r in reports] == [
        (6, {"kept": 5, "quarantined": 1}), (5, {"kept": 4, "quarantined": 1}), (4, {"kept": 3, "filtered": 1})]


def test_frames_stay_on_the_items_unless_the_group_holds_the_last_stage_that_reads_them() -> None:
    out, _ = GroupWorker([Decode(), Score()]).process(clips(["ok0"]))

    assert outcome(out)["c0"] == ("kept", "", 8.0, None, True)
    out, reports = GroupWorker([Decode(), Score(), Tally()]).process([], release_after=1)
    assert out == [] and [r.inputs for r in reports] == [0, 0, 0]
