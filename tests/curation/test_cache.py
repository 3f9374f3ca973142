"""The per-source cache: hashes, item records, entries and their completion marker (real files, LocalStore)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from curation.cache import (
    ITEMS,
    MARKER,
    NOT_PER_SOURCE,
    CacheGeneration,
    SourceCache,
    cache_generations,
    config_hash,
    content_hash,
    item_from_record,
    item_record,
    open_cache,
    per_source_config,
    prune_cache,
)
from curation.config import CurationConfig, MotionConfig, load_config
from curation.items import ClipItem, SourceItem
from curation.sidecar import sidecar_path
from curation.synthetic import ShotSpec, VideoSpec, write_video
from vidforge.dataset import Status
from vidforge.store import LocalStore, ObjectStore


@pytest.fixture
def video(tmp_path: Path) -> Path:
    return Path(write_video(VideoSpec(width=64, height=48, shots=(ShotSpec(12, speed=1.0),)), tmp_path / "v.mp4").path)


def test_content_hash_follows_the_bytes_of_the_video_and_its_sidecar(video: Path, tmp_path: Path) -> None:
    first = content_hash(video)
    copy = tmp_path / "copy" / "v.mp4"
    copy.parent.mkdir()
    copy.write_bytes(video.read_bytes())
    assert content_hash(copy) != first  # no sidecar next to the copy
    sidecar_path(copy).write_bytes(sidecar_path(video).read_bytes())
    assert content_hash(copy) == first
    sidecar_path(copy).write_text(json.dumps({"shots": []}))
    assert content_hash(copy) != first
    data = bytearray(video.read_bytes())
    data[-1] ^= 1
    video.write_bytes(bytes(data))
    assert content_hash(video) != first
    with pytest.raises(OSError):
        content_hash(tmp_path / "missing.mp4")


def test_config_hash_covers_every_section_but_the_dataset_wide_ones() -> None:
    base = load_config()
    assert set(per_source_config(base)) == set(CurationConfig.model_fields) - NOT_PER_SOURCE
    assert {"cuts", "split", "clip", "frames", "motion", "captions"} <= set(per_source_config(base))
    same = [{"filter": {"motion": {"min": 2.0}}}, {"pipeline": {"batch_size": 3, "chunk_sources": 1}},
            {"validation": {"max_examples": 9}}]
    for overrides in same:
        assert config_hash(load_config(overrides=overrides)) == config_hash(base), overrides
    for overrides in [{"motion": {"sample_fps": 4.0}}, {"split": {"min_clip_s": 2.0}}, {"clip": {"snap": "after"}}]:
        assert config_hash(load_config(overrides=overrides)) != config_hash(base), overrides
    assert config_hash(base, code="a") != config_hash(base, code="b")


def test_a_new_config_section_counts_by_default() -> None:
    class Extended(CurationConfig):
        new_stage: MotionConfig = MotionConfig()

    a, b = Extended(), Extended(new_stage=MotionConfig(sample_fps=9.0))
    assert "new_stage" in per_source_config(a)
    assert config_hash(a) != config_hash(b)


def _items(tmp_path: Path, video: Path) -> tuple[SourceItem, list[ClipItem]]:
    source = SourceItem(source_id="s1", source_uri=video.as_uri(), source_path=str(video), fps=24.0, width=64,
                        height=48, num_frames=12, duration_s=0.5, cuts=[])
    clip_file = tmp_path / "work" / "c1.mp4"
    clip_file.parent.mkdir()
    clip_file.write_bytes(video.read_bytes())
    kept = ClipItem(clip_id="c1", source_id="s1", source_uri=source.source_uri, source_path=str(video),
                    span_start=0, span_end=12, fps=24.0, width=64, height=48, start_frame=0, end_frame=12,
                    start_s=0.0, end_s=0.5, clip_path=str(clip_file), motion_score=1.25, caption_image="a",
                    text_area=0.125)
    short = ClipItem(clip_id="c2", source_id="s1", source_uri=source.source_uri, source_path=str(video),
                     span_start=12, span_end=13, fps=24.0, width=64, height=48)
    short.filter_out("split:too_short")
    return source, [kept, short]


def test_item_records_round_trip_every_field_but_frames(tmp_path: Path, video: Path) -> None:
    source, clips = _items(tmp_path, video)
    for item in [source, *clips]:
        record = json.loads(json.dumps(item_record(item)))
        assert "frames" not in record
        assert item_record(item_from_record(record)) == item_record(item)
    assert item_from_record(item_record(clips[1])).status is Status.FILTERED


def test_an_entry_restores_items_and_clip_files_only_when_complete_and_intact(tmp_path: Path, video: Path) -> None:
    store = LocalStore(tmp_path / "store")
    cache = SourceCache(store, "cc", "cfg")
    source, clips = _items(tmp_path, video)
    digest = content_hash(video)
    assert cache.load(source, digest, tmp_path / "r0") is None
    cache.save(source, clips, digest)
    entry = cache.entry("s1", digest)
    assert sorted(store.list(entry)) == [f"{entry}/clips/c1.mp4", f"{entry}/{MARKER}", f"{entry}/{ITEMS}"]

    moved = SourceItem(source_id="s1", source_uri=source.source_uri, source_path="/elsewhere/v.mp4")
    restored = cache.load(moved, digest, tmp_path / "r1")
    assert restored is not None and [i.item_id for i in restored] == ["s1", "c1", "c2"]
    kept = restored[1]
    assert isinstance(kept, ClipItem) and kept.clip_path == str(tmp_path / "r1" / "s1" / "c1.mp4")
    assert Path(kept.clip_path).read_bytes() == Path(clips[0].clip_path).read_bytes()
    assert all(i.source_path == "/elsewhere/v.mp4" for i in restored)  # type: ignore[attr-defined]
    strip = {"clip_path", "source_path"}
    assert [{k: v for k, v in item_record(i).items() if k not in strip} for i in restored] == [
        {k: v for k, v in item_record(i).items() if k not in strip} for i in [source, *clips]]

    store.put_bytes(f"{entry}/clips/c1.mp4", b"damaged")
    assert cache.load(source, digest, tmp_path / "r2") is None  # sha256 differs from the marker's
    cache.save(source, clips, digest)
    store.delete(f"{entry}/{MARKER}")
    assert store.exists(f"{entry}/{ITEMS}") and cache.load(source, digest, tmp_path / "r3") is None
    assert cache.load(source, digest.replace(digest[0], "x", 1), tmp_path / "r4") is None
    cache.save(source, clips, digest)
    store.delete(f"{entry}/{ITEMS}")  # the marker stayed but its entry went (e.g. pruned mid-read): a miss
    assert cache.load(source, digest, tmp_path / "r5") is None
    store.put_bytes(f"{entry}/{MARKER}", b"{not json")
    assert cache.load(source, digest, tmp_path / "r6") is None


def test_open_cache_follows_the_pipeline_section(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    assert open_cache(store, load_config(overrides={"pipeline": {"resume": False}})) is None
    cache = open_cache(store, load_config(overrides={"pipeline": {"cache_prefix": "x/y"}}))
    assert cache is not None and cache.entry("s", "h") == f"x/y/{cache.config_hash}/h/s"


@pytest.fixture
def store(any_store: ObjectStore) -> ObjectStore:
    return any_store


def _stamp(store: ObjectStore, cache: SourceCache, content: str, when: datetime) -> None:
    """Set the ``written_at`` of an entry's marker (what the listing reports as newest)."""
    key = f"{cache.entry('s1', content)}/{MARKER}"
    marker = json.loads(store.get_bytes(key))
    store.put_bytes(key, json.dumps({**marker, "written_at": when.isoformat()}).encode())


def test_prune_deletes_every_generation_not_kept_and_nothing_else(
    store: ObjectStore, tmp_path: Path, video: Path
) -> None:
    prefix = "c/cache"
    source, clips = _items(tmp_path, video)
    digest = content_hash(video)
    old, older, current = (SourceCache(store, prefix, h) for h in ("old", "older", "current"))
    for cache in (older, old, current):
        cache.save(source, clips, digest)
    older.save(source, clips, "other-content")
    _stamp(store, older, digest, datetime(2024, 1, 1, tzinfo=UTC))
    _stamp(store, older, "other-content", datetime(2024, 2, 1, tzinfo=UTC))
    _stamp(store, old, digest, datetime(2024, 3, 1, tzinfo=UTC))
    store.put_bytes(f"{old.entry('s2', digest)}/{ITEMS}", b"{}")  # an entry whose write never finished
    store.put_bytes(f"{prefix}/broken/{digest}/s1/{MARKER}", b"not json")  # a damaged marker: complete, undated
    outside = ["c/cache2/k", "c/other", f"{prefix}/stray.txt", "cache/old/x/s1/complete.json"]
    for key in outside:
        store.put_bytes(key, b"keep me")

    gens = cache_generations(store, prefix + "/")
    now = {g.config_hash: g for g in gens}
    assert [g.config_hash for g in gens] == ["current", "old", "older", "broken"]  # newest first, undated last
    assert now["older"] == CacheGeneration("older", entries=2, complete=2, objects=6,
                                           newest=datetime(2024, 2, 1, tzinfo=UTC))
    assert now["old"] == CacheGeneration("old", entries=2, complete=1, objects=4,
                                         newest=datetime(2024, 3, 1, tzinfo=UTC))
    assert now["broken"] == CacheGeneration("broken", entries=1, complete=1, objects=1, newest=None)
    assert now["current"].newest is not None and now["current"].newest > datetime(2024, 3, 1, tzinfo=UTC)

    before = store.list()
    dry = prune_cache(store, prefix, keep={"current"}, dry_run=True)
    assert [g.config_hash for g in dry] == ["old", "older", "broken"]
    assert store.list() == before

    assert prune_cache(store, prefix, keep=["current", "absent"]) == dry
    assert sorted(store.list()) == sorted([*store.list(f"{prefix}/current"), *outside])
    assert [g.config_hash for g in cache_generations(store, prefix)] == ["current"]
    restored = current.load(source, digest, tmp_path / "restored")
    assert restored is not None and [i.item_id for i in restored] == ["s1", "c1", "c2"]
    assert old.load(source, digest, tmp_path / "gone") is None
    if isinstance(store, LocalStore):  # no empty directories left behind
        assert not (store.root / prefix / "old").exists() and (store.root / prefix / "current").is_dir()

    assert [g.config_hash for g in prune_cache(store, prefix, keep=())] == ["current"]
    assert cache_generations(store, prefix) == [] and sorted(store.list()) == sorted(outside)
    assert prune_cache(store, "nothing/here", keep=()) == []


def test_prune_refuses_an_empty_prefix(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.put_bytes("datasets/x/dataset.json", b"{}")
    for prefix in ("", "/"):
        with pytest.raises(ValueError, match="prefix"):
            prune_cache(store, prefix, keep=())
        with pytest.raises(ValueError, match="prefix"):
            cache_generations(store, prefix)
    assert store.list() == ["datasets/x/dataset.json"]
