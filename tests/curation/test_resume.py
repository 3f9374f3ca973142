"""Resumable curation end to end on real synthetic videos: restore, invalidation, interruption."""

from __future__ import annotations

import io
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pyarrow.parquet as pq
import pytest

from curation.builders import build_stages
from curation.config import CurationConfig, load_config
from curation.items import Item, SourceItem
from curation.pipeline import curate
from curation.resume import per_source_done, split_stages
from curation.runner import PipelineError, SequentialRunner, validate_pipeline
from curation.stages.base import Resources, Stage
from curation.synthetic import ShotSpec, VideoSpec, write_corrupt, write_video
from vidforge.dataset import DatasetInfo, dataset_prefix, load_dataset
from vidforge.digest import sha256_file
from vidforge.store import LocalStore

PER_SOURCE = ["probe", "split", "clip", "frames", "motion", "captions"]


class RecordingRunner:
    """The real in-process runner, recording each call's stage names and source ids; raises on call ``fail_on``."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.inner = SequentialRunner(batch_size=4)
        self.fail_on = fail_on
        self.calls: list[tuple[list[str], list[str]]] = []

    def run(self, stages: Sequence[Stage], items: list[Item]) -> list[Item]:
        self.calls.append(([s.name for s in stages], [i.source_id for i in items if isinstance(i, SourceItem)]))
        if len(self.calls) == self.fail_on:
            raise ConnectionError("object store unreachable")  # transient: the task is retried as a whole
        return self.inner.run(stages, items)

    def per_source_sources(self) -> list[str]:
        """Source ids that went through the probe (i.e. were processed, not restored)."""
        return [sid for names, sids in self.calls if "probe" in names for sid in sids]


def _video(path: Path, seed: int, shots: tuple[ShotSpec, ...] | None = None) -> str:
    shots = shots or (ShotSpec(30, speed=1.0 + seed), ShotSpec(30, speed=3.0, direction_deg=90))
    return write_video(VideoSpec(seed=seed, width=96, height=72, shots=shots), path).path


@pytest.fixture
def sources(tmp_path: Path) -> list[str]:
    """Three tiny two-shot videos (with sidecars) and a truncated mp4."""
    videos = [_video(tmp_path / "in" / f"v{i}.mp4", seed=i) for i in range(3)]
    return [*videos, str(write_corrupt(tmp_path / "in" / "corrupt.mp4"))]


def _config(**overrides: Any) -> CurationConfig:
    return load_config(overrides={"pipeline": {"chunk_sources": 2}, **overrides})


def _run(sources: Sequence[str], store: LocalStore, config: CurationConfig, runner: Any = None,
         version: str = "v1") -> DatasetInfo:
    return curate(sources, store=store, name="d", version=version, config=config, progress=False, runner=runner)


def _tables(store: LocalStore, version: str = "v1") -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    prefix = dataset_prefix("d", version)
    return (pq.read_table(io.BytesIO(store.get_bytes(f"{prefix}/manifest.parquet"))).to_pylist(),
            pq.read_table(io.BytesIO(store.get_bytes(f"{prefix}/quarantine.parquet"))).to_pylist())


def _markers(store: LocalStore) -> list[str]:
    return [k for k in store.list("curation-cache") if k.endswith("/complete.json")]


def test_rerun_restores_every_source_runs_no_per_source_stage_and_publishes_the_same_dataset(
    sources: list[str], tmp_path: Path
) -> None:
    store, config = LocalStore(tmp_path / "store"), _config()
    first = _run(sources, store, config)
    assert first.extra["resume"] == {"config_hash": first.extra["resume"]["config_hash"], "restored": 0,
                                     "processed": 4, "uncacheable": 0, "chunks": 2, "duplicates": 0}
    assert len(_markers(store)) == 4  # the corrupt (quarantined) source is cached too
    manifest, quarantine = _tables(store)
    clips = {k: sha256_file(store.local_path(k)) for k in store.list("datasets/d/v1/clips")}
    assert first.clips_kept > 0 and len(quarantine) == 1

    runner = RecordingRunner()
    second = _run(sources, store, config, runner)
    assert [names for names, _ in runner.calls] == [["per_source", "filter", "upload"]]
    assert second.extra["resume"]["restored"] == 4 and second.extra["resume"]["processed"] == 0
    assert _tables(store) == (manifest, quarantine)
    assert {k: sha256_file(store.local_path(k)) for k in store.list("datasets/d/v1/clips")} == clips
    assert (second.clips_in, second.clips_kept, second.extra["funnel"]) == (
        first.clips_in, first.clips_kept, first.extra["funnel"])


def test_only_per_source_config_sections_invalidate(sources: list[str], tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    _run(sources[:2], store, _config())
    refiltered = _run(sources[:2], store, _config(filter={"motion": {"min": 1.0}}))
    assert refiltered.extra["resume"]["restored"] == 2
    runner = RecordingRunner()
    resampled = _run(sources[:2], store, _config(motion={"sample_fps": 4.0}), runner)
    assert resampled.extra["resume"]["restored"] == 0
    assert resampled.extra["resume"]["config_hash"] != refiltered.extra["resume"]["config_hash"]
    assert sorted(runner.per_source_sources()) == sorted(
        load_dataset(store, "d", "v1").manifest["source_id"].unique().tolist())


def test_a_changed_source_file_is_reprocessed(sources: list[str], tmp_path: Path) -> None:
    store, config = LocalStore(tmp_path / "store"), _config()
    _run(sources[:3], store, config)
    before, _ = _tables(store)
    _video(Path(sources[0]), seed=7, shots=(ShotSpec(60, speed=2.0),))  # same path, one shot now
    runner = RecordingRunner()
    info = _run(sources[:3], store, config, runner)
    assert (info.extra["resume"]["restored"], info.extra["resume"]["processed"]) == (2, 1)
    after, _ = _tables(store)
    changed = Path(sources[0]).resolve().as_uri()
    assert runner.per_source_sources() == list({r["source_id"] for r in after if r["source_uri"] == changed})
    assert sum(r["source_uri"] == changed for r in before) == 2
    assert sum(r["source_uri"] == changed for r in after) == 1
    # the unchanged sources' per-source fields are restored as they were (the dataset-wide ones
    # — filter status, motion bucket, uri — depend on the changed source's clips too)
    dataset_wide = {"status", "reason", "motion_bucket", "uri"}
    assert [{k: v for k, v in r.items() if k not in dataset_wide} for r in after if r["source_uri"] != changed] == [
        {k: v for k, v in r.items() if k not in dataset_wide} for r in before if r["source_uri"] != changed]


def test_an_interrupted_run_keeps_its_finished_chunks_and_the_next_run_does_only_the_rest(
    sources: list[str], tmp_path: Path
) -> None:
    store, config = LocalStore(tmp_path / "store"), _config(pipeline={"chunk_sources": 1})
    videos = sources[:3]
    with pytest.raises(ConnectionError):
        _run(videos, store, config, RecordingRunner(fail_on=2))
    assert not store.exists("datasets/d/v1/dataset.json")
    assert len(_markers(store)) == 1  # the first chunk; the failed one (transient) is not cached

    runner = RecordingRunner()
    info = _run(videos, store, config, runner)
    assert (info.extra["resume"]["restored"], info.extra["resume"]["processed"]) == (1, 2)
    first_id = runner.calls[-1][1][0]  # the dataset-wide call lists sources in input order
    assert first_id not in runner.per_source_sources() and len(set(runner.per_source_sources())) == 2
    resumed, _ = _tables(store)
    _run(videos, store, _config(pipeline={"resume": False}), version="fresh")
    fresh, _ = _tables(store, "fresh")
    assert [{**r, "uri": ""} for r in resumed] == [{**r, "uri": ""} for r in fresh]


def test_an_entry_without_its_completion_marker_is_ignored(sources: list[str], tmp_path: Path) -> None:
    store, config = LocalStore(tmp_path / "store"), _config()
    _run(sources[:2], store, config)
    marker = _markers(store)[0]
    store.delete(marker)
    assert store.list(marker.rsplit("/", 1)[0])  # items.json and the clips are still there
    runner = RecordingRunner()
    info = _run(sources[:2], store, config, runner)
    assert (info.extra["resume"]["restored"], info.extra["resume"]["processed"]) == (1, 1)
    assert runner.per_source_sources() == [marker.split("/")[-2]]
    assert store.exists(marker)  # rewritten, complete again


def test_unreadable_sources_are_never_cached(sources: list[str], tmp_path: Path) -> None:
    store, config = LocalStore(tmp_path / "store"), _config()
    missing = str(tmp_path / "in" / "missing.mp4")
    for _ in range(2):
        info = _run([missing, sources[0]], store, config)
    assert info.extra["resume"] == {**info.extra["resume"], "restored": 1, "processed": 1, "uncacheable": 1}
    assert info.extra["funnel"]["source"]["probe:not_found"] == 1


def test_resume_off_neither_reads_nor_writes_the_cache(sources: list[str], tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    info = _run(sources[:1], store, _config(pipeline={"resume": False}))
    assert info.extra["resume"]["processed"] == 1 and info.extra["resume"]["config_hash"] == ""
    assert not store.list("curation-cache")


class _Whole(Stage):
    name: ClassVar[str] = "whole"
    requires: ClassVar[frozenset[str]] = frozenset({"motion_score"})
    populates: ClassVar[frozenset[str]] = frozenset()
    resources: ClassVar[Resources] = Resources()
    consumes: ClassVar[type[Item]] = SourceItem
    whole_dataset: ClassVar[bool] = True

    def process(self, batch: list[Item]) -> list[Item]:
        return batch


def test_the_stage_list_splits_at_the_first_whole_dataset_stage(tmp_path: Path) -> None:
    stages = build_stages(_config(), tmp_path, LocalStore(tmp_path / "s"), "p")
    per_source, rest = split_stages(stages)
    assert [s.name for s in per_source] == [s.name for s in stages[: len(per_source)]]
    assert set(PER_SOURCE) <= {s.name for s in per_source} and rest[0].whole_dataset
    assert not any(s.whole_dataset for s in per_source)
    assert split_stages([*per_source, _Whole(), *rest])[1][0].name == "whole"
    assert split_stages(per_source) == (per_source, [])
    with pytest.raises(PipelineError):
        validate_pipeline(rest)
    done = per_source_done(per_source)
    validate_pipeline([done, *rest])
    copy = pickle.loads(pickle.dumps(done))  # runners ship stages to workers
    assert (copy.describe(), copy.populates) == (done.describe(), done.populates)
