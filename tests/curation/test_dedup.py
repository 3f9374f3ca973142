from __future__ import annotations

import io
import shutil
from pathlib import Path

import pyarrow.parquet as pq

from curation.config import load_config
from curation.dedup import DUPLICATE, mark_duplicates
from curation.items import SourceItem
from curation.pipeline import curate
from curation.reasons import is_known
from curation.synthetic import ShotSpec, VideoSpec, write_video
from vidforge.dataset import Status, dataset_prefix
from vidforge.store import LocalStore


def _source(sid: str) -> SourceItem:
    return SourceItem(source_id=sid, source_uri=f"s3://b/{sid}.mp4", source_path=f"/tmp/{sid}.mp4")


def test_later_sources_with_the_same_hash_are_filtered_as_duplicates_of_the_first() -> None:
    a, b, c, d = (_source(s) for s in "abcd")
    dups = mark_duplicates([a, b, c, d], {"a": "h1", "b": "h2", "c": "h1", "d": None})
    assert dups == [c] and is_known(DUPLICATE)
    assert (c.status, c.reason, c.duplicate_of) == (Status.FILTERED, DUPLICATE, "a")
    assert "s3://b/a.mp4" in c.error
    assert all(s.kept and s.duplicate_of is None for s in (a, b, d))  # an unreadable source is never a duplicate


def test_curate_processes_the_same_bytes_under_two_uris_once(tmp_path: Path) -> None:
    spec = VideoSpec(seed=1, width=96, height=72, shots=(ShotSpec(30, speed=1.0), ShotSpec(30, speed=3.0)))
    first = Path(write_video(spec, tmp_path / "in" / "a.mp4").path)
    copy = tmp_path / "in" / "copy_of_a.mp4"
    shutil.copy(first, copy)
    shutil.copy(first.with_suffix(".json"), copy.with_suffix(".json"))
    store = LocalStore(tmp_path / "store")
    info = curate([first, copy], store=store, name="d", version="v1", config=load_config(), progress=False)
    assert info.inputs == 2 and info.extra["resume"]["duplicates"] == 1
    assert info.extra["resume"]["processed"] == 1  # the copy never reached a stage
    prefix = dataset_prefix("d", "v1")
    clips = pq.read_table(io.BytesIO(store.get_bytes(f"{prefix}/manifest.parquet"))).to_pylist()
    quarantine = pq.read_table(io.BytesIO(store.get_bytes(f"{prefix}/quarantine.parquet"))).to_pylist()
    assert {c["source_uri"] for c in clips} == {first.resolve().as_uri()}
    assert [(q["source_uri"], q["reason"]) for q in quarantine] == [(copy.resolve().as_uri(), DUPLICATE)]
    assert info.extra["funnel"]["source"][DUPLICATE] == 1


def test_dedup_can_be_turned_off(tmp_path: Path) -> None:
    spec = VideoSpec(seed=2, width=96, height=72, shots=(ShotSpec(30, speed=1.0),))
    first = Path(write_video(spec, tmp_path / "in" / "a.mp4").path)
    copy = tmp_path / "in" / "b.mp4"
    shutil.copy(first, copy)
    config = load_config(overrides={"pipeline": {"dedup_sources": False, "resume": False}})
    info = curate([first, copy], store=LocalStore(tmp_path / "store"), name="d", version="v1", config=config,
                  progress=False)
    assert info.extra["resume"]["duplicates"] == 0 and info.extra["resume"]["processed"] == 2
