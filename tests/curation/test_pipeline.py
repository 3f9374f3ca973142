from __future__ import annotations

import itertools
import math
from pathlib import Path

import av
import pyarrow.parquet as pq
import pytest

from curation.config import load_config
from curation.pipeline import curate, source_items, source_settings
from curation.stages.filter import ORDER
from curation.synthetic import GroundTruth
from vidforge.dataset import CLIP_SCHEMA, QUARANTINE_SCHEMA, DatasetInfo, load_dataset, motion_bucket
from vidforge.store import LocalStore, S3Store

Curated = tuple[LocalStore, DatasetInfo, list[GroundTruth], Path]


def test_counts_satisfy_the_invariant(curated: Curated) -> None:
    store, info, suite, _ = curated
    assert info.inputs == len(suite) + 2
    assert info.sources_quarantined == 1
    assert info.clips_in == info.clips_kept + info.clips_filtered + info.clips_quarantined
    manifest = load_dataset(store, "demo", "v1").manifest
    assert len(manifest) == info.clips_in
    assert (manifest["status"] == "kept").sum() == info.clips_kept
    assert (manifest["status"] == "filtered").sum() == info.clips_filtered
    assert info.clips_kept > 0 and info.clips_filtered > 0


def test_corrupt_source_is_quarantined(curated: Curated) -> None:
    store, _, _, corrupt = curated
    table = pq.read_table(store.local_path("datasets/demo/v1/quarantine.parquet"))
    assert table.schema.equals(QUARANTINE_SCHEMA)
    rows = table.to_pylist()
    assert [r["source_uri"] for r in rows] == [corrupt.resolve().as_uri()]
    assert rows[0]["reason"] == "probe:unreadable" and rows[0]["stage"] == "probe" and rows[0]["error"]


def test_manifest_conforms_to_the_schema(curated: Curated) -> None:
    store, info, _, _ = curated
    table = pq.read_table(store.local_path("datasets/demo/v1/manifest.parquet"))
    assert table.schema.equals(CLIP_SCHEMA)
    rows = table.to_pylist()
    assert len({r["clip_id"] for r in rows}) == len(rows)
    for r in rows:
        assert r["start_frame"] < r["end_frame"] and r["start_s"] < r["end_s"]
        assert (r["status"] == "kept") == (r["reason"] == "")
        assert (r["status"] == "kept") == bool(r["uri"])
        if r["motion_score"] is not None:
            assert r["motion_bucket"] == motion_bucket(r["motion_score"], info.motion_bucket_edges)
    reasons = {r["reason"] for r in rows}
    assert {"split:too_short", "filter:motion_min"} <= reasons


def test_kept_clips_decode_with_their_frame_counts(curated: Curated) -> None:
    store, _, _, _ = curated
    kept = load_dataset(store, "demo", "v1").kept
    assert sorted(store.list("datasets/demo/v1/clips")) == sorted(store.key_of(u) for u in kept["uri"])
    for row in kept.itertuples():
        with av.open(str(store.local_path(store.key_of(row.uri)))) as c:
            n = sum(1 for _ in c.decode(video=0))
        assert n == row.end_frame - row.start_frame


def test_clip_spans_match_the_true_shots(curated: Curated) -> None:
    store, _, suite, _ = curated
    manifest = load_dataset(store, "demo", "v1").manifest
    truth = {Path(t.path).resolve().as_uri(): t for t in suite}
    for uri, t in truth.items():
        rows = manifest[manifest["source_uri"] == uri].sort_values("start_frame")
        assert len(rows) == len(t.shots)
        for row, shot in zip(rows.itertuples(), t.shots, strict=True):
            assert abs(row.start_frame - shot.start_frame) <= t.gop  # keyframe snapping
            assert shot.end_frame - 4 <= row.end_frame <= shot.end_frame + 2  # B-frames, cut tolerance


def test_motion_orders_static_slow_fast(curated: Curated) -> None:
    store, _, suite, _ = curated
    manifest = load_dataset(store, "demo", "v1").manifest
    by_speed: dict[float, list[float]] = {}
    for t in suite:
        rows = manifest[manifest["source_uri"] == Path(t.path).resolve().as_uri()]
        for row in rows.itertuples():
            shot = next(s for s in t.shots if s.start_frame <= row.start_frame < s.end_frame)
            clean = row.end_frame <= shot.end_frame and not (shot.fade_in or shot.fade_out)
            if clean and row.motion_score == row.motion_score:  # within one shot, not NaN
                by_speed.setdefault(shot.speed, []).append(row.motion_score)
    speeds = sorted(by_speed)
    assert speeds[0] == 0.0 and speeds[-1] >= 4.0 and len(speeds) >= 4
    assert max(by_speed[speeds[0]]) < min(by_speed[speeds[1]])
    for slow, fast in itertools.pairwise(speeds):
        assert max(by_speed[slow]) < min(by_speed[fast]), (slow, fast, by_speed)


def test_captions_come_from_the_sidecars(curated: Curated) -> None:
    store, _, suite, _ = curated
    manifest = load_dataset(store, "demo", "v1").manifest
    with_sidecar = manifest[manifest["source_uri"].isin({Path(t.path).resolve().as_uri() for t in suite})]
    kept = with_sidecar[with_sidecar["status"] == "kept"]
    assert (kept["caption_summary"] != "").all() and (kept["caption_video"] != "").all()
    bikes = manifest[manifest["source_uri"].str.endswith("bikes.mp4")]
    assert (bikes["caption_summary"] == "").all()


def test_load_dataset_and_bucket_edges(curated: Curated) -> None:
    store, info, _, _ = curated
    ds = load_dataset(store, "demo", "v1")
    assert ds.info == info
    assert len(info.motion_bucket_edges) == load_config().pipeline.motion_bucket_edges
    assert info.motion_bucket_edges == sorted(info.motion_bucket_edges)
    assert ds.kept["motion_bucket"].between(0, 255).all()
    assert info.extra["funnel"]["clip"]["kept"] == info.clips_kept


def test_filter_report_matches_the_manifest(curated: Curated) -> None:
    store, info, _, _ = curated
    manifest = load_dataset(store, "demo", "v1").manifest
    report = info.extra["filters"]
    stage = manifest["reason"].str.split(":").str[0]
    # the filter judged every clip not removed before it (kept, filtered by it, or removed by upload after it)
    assert report["clips"] == int(((manifest["status"] == "kept") | stage.isin(["filter", "upload"])).sum()) > 0
    assert report["order"] == [f"filter:{n}" for n in ORDER]
    for f in report["filters"]:
        assert f["removed"] == int((manifest["reason"] == f["reason"]).sum()), f["name"]
    motion = {f["name"]: f for f in report["filters"]}["motion_percentile"]
    assert motion["status"] == "applied" and motion["flagged"] == math.floor(0.25 * motion["judged"])
    kept = manifest[manifest["status"] == "kept"]
    assert (kept["motion_score"] > motion["threshold"]).all()  # above the effective cut
    for f in report["filters"]:  # a signal null on every clip skips its (enabled) filters
        if manifest[f["signal"]].isna().all() and f["setting"]:
            assert f["status"] == "skipped" and "not computed" in f["note"], f


#: Every dataset-wide filter disabled (``filter`` overrides).
NO_FILTERS = {"motion": {"min": None, "drop_lowest": None}, "aesthetic": {"min": None, "drop_lowest": None},
              "clip_similarity": {"min": None, "drop_lowest": None}, "text_area": {"max": None, "drop_highest": None}}


def test_rerun_overwrites_cleanly(tmp_path: Path, demo_by_name: dict[str, GroundTruth]) -> None:
    store = LocalStore(tmp_path / "store")
    source = demo_by_name["cuts"].path
    first = curate([source], store=store, name="d", version="v1", progress=False,
                   config=load_config(overrides={"filter": NO_FILTERS}))
    stale = tmp_path / "store" / "datasets/d/v1/clips/stale.mp4"
    stale.write_bytes(b"x")
    second = curate([source], store=store, name="d", version="v1", progress=False)
    assert first.clips_kept == 4 and second.clips_kept < first.clips_kept
    assert not stale.exists()
    keys = store.list("datasets/d/v1/clips")
    assert len(keys) == second.clips_kept
    assert len(load_dataset(store, "d", "v1").manifest) == second.clips_in


def test_remote_and_duplicate_sources(tmp_path: Path, demo_by_name: dict[str, GroundTruth]) -> None:
    src = LocalStore(tmp_path / "raw")
    truth = demo_by_name["fast"]
    uri = src.put_file(truth.path, "raw/fast.mp4")
    src.put_file(Path(truth.path).with_suffix(".json"), "raw/fast.json")
    items = source_items([uri, uri, tmp_path / "nope.mp4"], tmp_path / "fetch")
    assert len(items) == 2 and items[0].source_uri == uri
    assert Path(items[0].source_path).is_file() and Path(items[0].source_path).with_suffix(".json").is_file()
    assert not Path(items[1].source_path).exists()


def test_s3_sources_are_read_through_the_dataset_stores_endpoint(
    tmp_path: Path, demo_by_name: dict[str, GroundTruth], s3_endpoint: str, s3_bucket: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # videos uploaded to the platform's S3 (MinIO here: moto) beside the dataset store, not on AWS
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    datasets = S3Store(f"s3://{s3_bucket}/store", endpoint_url=s3_endpoint)
    raw = S3Store(f"s3://{s3_bucket}", endpoint_url=s3_endpoint)
    truth = demo_by_name["fast"]
    uri = raw.put_file(truth.path, "uploads/fast.mp4")
    (item,) = source_items([uri], tmp_path / "fetch", source_settings(datasets))
    assert item.source_uri == uri
    assert Path(item.source_path).read_bytes() == Path(truth.path).read_bytes()


@pytest.mark.parametrize("bad", ["zero", "missing"])
def test_nothing_usable_still_publishes(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "x.mp4"
    if bad == "zero":
        path.touch()
    info = curate([path], store=LocalStore(tmp_path / "s"), name="e", version="v1", progress=False)
    assert (info.inputs, info.sources_quarantined, info.clips_in, info.motion_bucket_edges) == (1, 1, 0, [])


def test_runner_for_follows_the_profile() -> None:
    from curation.pipeline import runner_for
    from curation.runner import SequentialRunner
    from curation.runner_ray import RayRunner

    assert isinstance(runner_for(load_config()), SequentialRunner)
    ray_runner = runner_for(load_config(overrides={
        "pipeline": {"runner": "ray", "batch_size": 3},
        "ray": {"address": "ray://vidforge-ray-head-svc.curation.svc:10001", "max_actors_per_stage": 6}}))
    assert isinstance(ray_runner, RayRunner)
    assert (ray_runner.address, ray_runner.max_actors_per_stage, ray_runner.batch_size) == (
        "ray://vidforge-ray-head-svc.curation.svc:10001", 6, 3)
    assert runner_for(load_config(overrides={"pipeline": {"runner": "ray"}, "ray": {"batch_size": 2}})).batch_size == 2
