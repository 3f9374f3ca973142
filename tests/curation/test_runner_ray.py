"""The Ray runner on a local 2-CPU Ray (one session for the module).

Starting Ray takes 12–25 s on the shared 2-core box, so every test that needs it is ``slow``.

The stages below (and those of :mod:`tests.support.fake_stages` and :mod:`tests.support.fake_signals`)
are pickled by reference: Ray workers import their modules (the driver's working directory, the
repository root, is on their ``sys.path``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
import ray

from curation.builders import build_stages
from curation.config import load_config
from curation.items import ClipItem, Item, SourceItem
from curation.pipeline import source_items
from curation.runner import SequentialRunner, funnel
from curation.runner_ray import RayRunner, pool_size
from curation.stages.base import Resources, Stage
from curation.stages.upload import UploadStage, clip_key
from curation.synthetic import GroundTruth, write_corrupt
from tests.support.fake_signals import clips, outcome, signal_stages
from tests.support.fake_stages import Measure, log_lines
from vidforge.store import LocalStore


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=128 * 1024**2, log_to_driver=False)
    yield
    ray.shutdown()


def _sources(paths: list[str]) -> list[Item]:
    return [SourceItem(source_id=f"s{i}", source_uri=p, source_path=p) for i, p in enumerate(paths)]


class MeasureWhole(Measure):
    name: ClassVar[str] = "measure_whole"
    whole_dataset: ClassVar[bool] = True


class BrokenSetup(Measure):
    name: ClassVar[str] = "broken_setup"

    def setup(self) -> None:
        raise FileNotFoundError("model weights not found")


def test_only_the_ray_runner_imports_ray() -> None:
    code = ("import sys, curation.api, curation.builders, curation.cli, curation.pipeline; "
            "assert 'ray' not in sys.modules, 'ray imported'; "
            "import curation.runner_ray; assert 'ray' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])


@pytest.mark.parametrize(
    ("cpus", "gpus", "batches", "cluster", "expected"),
    [
        (1.0, 0.0, 10, {"CPU": 2.0}, 2),                 # CPUs bound
        (0.25, 0.0, 10, {"CPU": 2.0}, 4),                # max_actors bound
        (0.25, 0.0, 3, {"CPU": 2.0}, 3),                 # batches bound
        (1.0, 1.0, 10, {"CPU": 16.0, "GPU": 2.0}, 2),    # GPUs bound
        (1.0, 1.0, 10, {"CPU": 16.0}, 1),                # no GPU node yet: one actor waits for the autoscaler
        (4.0, 0.0, 10, {"CPU": 2.0}, 1),                 # bigger than the cluster: still one
    ],
)
def test_pool_size(cpus: float, gpus: float, batches: int, cluster: dict[str, float], expected: int) -> None:
    assert pool_size(Resources(cpus=cpus, gpus=gpus), batches, 4, cluster) == expected


@pytest.mark.slow
@pytest.mark.parametrize("whole", [False, True], ids=["batches", "whole_dataset"])
def test_setup_once_per_actor_and_failures_stay_with_their_item(
    local_ray: None, tmp_path: Path, whole: bool
) -> None:
    log_path = tmp_path / "calls.log"
    stage = (MeasureWhole if whole else Measure)(log_path)
    paths = [f"/v/{i}" for i in range(9)] + ["/v/9-boom"]
    out = RayRunner(max_actors_per_stage=2, batch_size=2).run([stage], _sources(paths))

    assert [it.item_id for it in out] == [f"s{i}" for i in range(10)]
    assert all(isinstance(it, SourceItem) and it.kept and it.fps == 24.0 for it in out[:9])
    assert (out[9].status, out[9].reason) == ("quarantined", f"{stage.name}:key_error")
    setups, batches = log_lines(log_path, "setup"), log_lines(log_path, "batch")
    actor_pids = {pid for (pid,) in setups}
    assert len(setups) == len(actor_pids) == (1 if whole else 2)  # once per actor, never per batch
    assert {pid for pid, _ in batches} <= actor_pids
    assert str(os.getpid()) not in actor_pids  # nothing ran in the driver
    if whole:  # one batch of all ten, then the failing batch is re-run item by item
        assert [int(n) for _, n in batches] == [10] + [1] * 10
    else:  # five batches of two; the one with the failing item is re-run as two singletons
        assert sorted(int(n) for _, n in batches) == [1, 1, 2, 2, 2, 2, 2]
    RayRunner().close()
    assert ray.is_initialized()  # a runner never shuts down a session it did not start


@pytest.mark.slow
def test_transient_errors_failed_setup_and_unmet_resources_raise(local_ray: None, tmp_path: Path) -> None:
    with pytest.raises(TimeoutError, match="store timed out"):
        RayRunner(max_actors_per_stage=1).run([Measure(tmp_path / "a.log")], _sources(["/v/0", "/v/1-flaky"]))
    with pytest.raises(FileNotFoundError, match="model weights"):
        RayRunner(max_actors_per_stage=1).run([BrokenSetup(tmp_path / "b.log")], _sources(["/v/0"]))
    gpu_stage = type("NeedsGpu", (Measure,), {"name": "needs_gpu", "resources": Resources(cpus=1.0, gpus=1.0)})
    with pytest.raises(ValueError, match=r"needs more than this local Ray has \(GPU: 1.0 > 0.0\)"):
        RayRunner().run([gpu_stage(tmp_path / "c.log")], _sources(["/v/0"]))


def _curate_items(
    runner: SequentialRunner | RayRunner, sources: list[Path], root: Path
) -> tuple[list[Item], LocalStore, float]:
    store = LocalStore(root / "store")
    stages = build_stages(load_config(), root / "work", store, "datasets/d/v1")
    items = source_items(sources, root / "fetch")
    started = time.perf_counter()
    out = runner.run(stages, list(items))
    return out, store, time.perf_counter() - started


@pytest.mark.slow
@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "unfused"])
def test_same_results_as_the_sequential_runner(
    local_ray: None, tmp_path: Path, demo_suite: list[GroundTruth], record_property: pytest.RecordProperty,
    fuse: bool,
) -> None:
    sources = [Path(t.path) for t in demo_suite] + [write_corrupt(tmp_path / "in" / "corrupt.mp4")]
    seq, _, seq_s = _curate_items(SequentialRunner(batch_size=2), sources, tmp_path / "seq")
    with RayRunner(max_actors_per_stage=2, batch_size=2, fuse=fuse) as runner:
        par, store, ray_s = _curate_items(runner, sources, tmp_path / "ray")
    record_property("sequential_s", round(seq_s, 2))
    record_property("ray_s", round(ray_s, 2))

    assert funnel(par) == funnel(seq)
    assert funnel(par)["source"]["quarantined"] == 1
    assert sum(isinstance(it, ClipItem) and it.motion_score is not None for it in par) >= 8  # signals compared

    def outcome(it: Item) -> tuple[object, ...]:
        if isinstance(it, SourceItem):
            return (it.status, it.reason, it.fps, it.num_frames, it.cuts)
        assert isinstance(it, ClipItem)
        return (it.status, it.reason, it.span_start, it.span_end, it.start_frame, it.end_frame, it.start_s,
                it.end_s, it.motion_score, it.text_area, it.aesthetic, it.clip_similarity, it.caption_video)

    assert {(it.level, it.item_id): outcome(it) for it in par} == {(it.level, it.item_id): outcome(it) for it in seq}
    assert [(it.level, it.item_id) for it in par] == [(it.level, it.item_id) for it in seq]
    assert all(getattr(it, "frames", None) is None for it in par)  # released after the last frames stage

    kept = [it for it in par if isinstance(it, ClipItem) and it.kept]
    assert sorted(store.list("datasets/d/v1/clips")) == sorted(clip_key("datasets/d/v1", c.clip_id) for c in kept)


class WriteClips(Stage):
    """Fans each source out into one clip whose file it writes next to the source path."""

    name: ClassVar[str] = "write_clips"
    requires: ClassVar[frozenset[str]] = frozenset({"source_path"})
    populates: ClassVar[frozenset[str]] = frozenset({"clip_id", "clip_path", "span_start", "span_end"})
    resources: ClassVar[Resources] = Resources(cpus=1.0)
    consumes: ClassVar[type[Item]] = SourceItem
    fans_out: ClassVar[bool] = True

    def process(self, batch: list[Item]) -> list[Item]:
        out: list[Item] = []
        for src in batch:
            assert isinstance(src, SourceItem)
            path = Path(src.source_path + ".clip")
            path.write_bytes(f"clip of {src.source_id}".encode())
            out += [src, ClipItem(clip_id=f"{src.source_id}-c", source_id=src.source_id, source_uri="",
                                  source_path="", span_start=0, span_end=1, fps=24.0, width=1, height=1,
                                  clip_path=str(path))]
        return out


@pytest.mark.slow
def test_upload_writes_to_the_store_from_a_worker(local_ray: None, tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    upload = UploadStage(store.settings(), "datasets/d/v1")
    out = RayRunner(batch_size=2).run([WriteClips(), upload], _sources([str(tmp_path / f"{i}") for i in range(3)]))

    assert upload.store is None  # the driver's copy never opened the store: the workers' copies wrote
    clips = [it for it in out if isinstance(it, ClipItem)]
    assert [c.clip_id for c in clips] == ["s0-c", "s1-c", "s2-c"]
    for clip in clips:
        assert clip.uri == store.uri(clip_key("datasets/d/v1", clip.clip_id))
        assert store.get_bytes(clip_key("datasets/d/v1", clip.clip_id)) == f"clip of {clip.source_id}".encode()


def _stage_lines(path: Path, stage: str, kind: str) -> list[list[str]]:
    """The fields after ``<stage> <kind>`` of the lines a :mod:`tests.support.fake_signals` stage logged."""
    return [line.split()[2:] for line in path.read_text().splitlines() if line.split()[:2] == [stage, kind]]


@pytest.mark.slow
def test_a_fused_group_runs_in_one_actor_keeps_its_frames_there_and_is_reused(
    local_ray: None, tmp_path: Path
) -> None:
    log_path = tmp_path / "calls.log"
    stages = signal_stages(log_path)
    names = ["ok0", "corrupt", "ok2", "boom", "dull", "ok5"]
    with RayRunner(max_actors_per_stage=2, batch_size=2) as runner:
        out = runner.run(stages, clips(names))
        setups = {stage.name: sorted(pid for (pid,) in _stage_lines(log_path, stage.name, "setup"))
                  for stage in stages}
        again = runner.run(stages, clips(names))  # the next chunk of a resumable run

    # the same outcomes as in-process, and decode's unpicklable frames never left their actor
    expected = outcome(SequentialRunner(batch_size=2).run(signal_stages(), clips(names)))
    assert outcome(out) == outcome(again) == expected
    assert expected["c1"][:2] == ("quarantined", "decode:decode_failed")
    assert expected["c3"][:2] == ("quarantined", "score:key_error")
    assert expected["c4"][:2] == ("filtered", "tally:dull")
    assert not any(frames for *_, frames in expected.values())
    # every actor set each stage of the group up once: the same two pids for all three stages
    assert setups["decode"] == setups["score"] == setups["tally"]
    assert len(setups["decode"]) == len(set(setups["decode"])) == 2
    assert str(os.getpid()) not in setups["decode"]
    # the second run reused the pool: no set-up since, and its batches ran in the same actors
    assert {name: sorted(pid for (pid,) in _stage_lines(log_path, name, "setup")) for name in setups} == setups
    batches = {name: _stage_lines(log_path, name, "batch") for name in setups}
    assert {pid for lines in batches.values() for pid, _ in lines} <= set(setups["decode"])
    # later stages of the group skip what an earlier one quarantined
    assert not any("c1" in ids.split(",") for _, ids in batches["score"] + batches["tally"])
    assert not any("c3" in ids.split(",") for _, ids in batches["tally"])


@pytest.mark.slow
def test_without_fusion_frames_travel_between_actors(local_ray: None) -> None:
    """The control for the test above: one pool per stage ships decode's frames back through the driver."""
    with (
        RayRunner(max_actors_per_stage=1, fuse=False) as runner,
        pytest.raises(TypeError, match="decoded frames left the worker"),
    ):
        runner.run(signal_stages(), clips(["ok0"]))
