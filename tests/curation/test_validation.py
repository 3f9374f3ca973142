from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pytest

from curation.config import ValidationConfig, load_config
from curation.items import ClipItem, Item, SourceItem
from curation.pipeline import curate
from curation.publish import publish
from curation.runner import SequentialRunner
from curation.synthetic import GroundTruth
from curation.validation import ManifestValidationError, build_suite, quiet_gx, validate_manifest
from vidforge.dataset import CLIP_SCHEMA, load_dataset
from vidforge.store import LocalStore

if TYPE_CHECKING:
    from curation.stages.base import Stage

Row = dict[str, Any]


def _row(i: int, **changes: Any) -> Row:
    """A valid manifest row: clip ``c<i>``, 50 frames at 25 fps."""
    row: Row = {
        "clip_id": f"c{i}", "source_id": "s0", "source_uri": "file:///in/s0.mp4",
        "start_frame": 50 * i, "end_frame": 50 * i + 50, "start_s": 2.0 * i, "end_s": 2.0 * i + 2.0,
        "shot_start_frame": 50 * i, "shot_end_frame": 50 * i + 50,
        "fps": 25.0, "width": 64, "height": 48, "uri": f"file:///store/c{i}.mp4",
        "caption_image": "", "caption_video": "", "caption_summary": "", "motion_score": 3.0 + i,
        "motion_bucket": min(17 * i, 255), "text_area": None, "aesthetic": None, "clip_similarity": None,
        "status": "kept", "reason": "", "error": "", "rotation": 0,
    }
    row.update(changes)
    return row


def _manifest(rows: list[Row]) -> pd.DataFrame:
    return pa.Table.from_pylist(rows, schema=CLIP_SCHEMA).to_pandas()


def _good() -> list[Row]:
    return [
        _row(0, text_area=0.0),
        _row(1, text_area=1.0),
        _row(2, status="filtered", reason="filter:motion_min", uri="", motion_bucket=None),
        _row(3, status="quarantined", reason="clip:no_keyframe", error="ItemError: no keyframe", uri=None,
             motion_score=None, motion_bucket=None),
    ]


def test_a_valid_manifest_passes() -> None:
    report = validate_manifest(_manifest(_good()))
    assert report.success, report.summary()
    assert report.evaluated == report.successful == len(build_suite(ValidationConfig()).expectations)
    assert report.rows == 4 and report.failed == []
    assert json.loads(report.to_json())["success"] is True


def _set(i: int, **changes: Any) -> Callable[[list[Row]], None]:
    return lambda rows: rows[i].update(changes)


#: The four kinds of failure, each alone in an otherwise valid manifest.
KINDS = {
    "duplicate id": (lambda rows: rows.append(_row(0, source_id="s1")), "clip_id is unique", "c0"),
    "null required field": (_set(1, source_uri=None), "source_uri is not null", "c1"),
    "bad range": (_set(1, motion_bucket=256), "motion_bucket in 0..255", "c1"),
    "inconsistent duration": (_set(1, end_s=2.5), "duration matches frame count", "c1"),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_of_bad_manifest_fails_naming_the_expectation(kind: str) -> None:
    mutate, expected, clip_id = KINDS[kind]
    rows = _good()
    mutate(rows)
    report = validate_manifest(_manifest(rows))
    assert not report.success
    assert [r.description for r in report.failed] == [expected], report.summary()
    assert clip_id in {ex["clip_id"] for ex in report.failed[0].examples}
    assert expected in report.summary() and f"'clip_id': '{clip_id}'" in report.summary()


#: Every other expectation, each broken by one row (one validation run keeps this fast).
BROKEN = {
    "clip_id is unique": [_row(10, clip_id="d"), _row(11, clip_id="d")],
    "status is not null": [_row(12, status=None)],
    "kept clips have a uri": [_row(13, uri=None)],
    "kept clips' uri is not empty": [_row(14, uri="")],
    "fps > 0": [_row(15, fps=-25.0, start_s=32.0, end_s=30.0)],  # duration still consistent
    "start_frame >= 0": [_row(16, start_frame=-1, end_frame=49, start_s=0.0, end_s=2.0, shot_start_frame=-1,
                              shot_end_frame=49)],
    "start_frame < end_frame": [_row(17, end_frame=850, end_s=34.0)],
    "text_area in [0, 1]": [_row(18, text_area=-0.1)],
    "status is kept|filtered|quarantined": [_row(19, status="dropped")],
    "filtered/quarantined clips have a reason": [_row(20, status="quarantined", reason=None, error="E: x")],
    "filtered/quarantined clips' reason is not empty": [_row(21, status="filtered", reason="")],
    "quarantined clips have an error": [_row(22, status="quarantined", reason="clip:x", error=None)],
    "quarantined clips' error is not empty": [_row(23, status="quarantined", reason="clip:x", error="")],
}


def test_every_expectation_names_its_offending_rows() -> None:
    rows = _good() + [dict(r, source_id=f"own-{r['clip_id']}") for bad in BROKEN.values() for r in bad]
    report = validate_manifest(_manifest(rows))
    found = {r.description: {ex["clip_id"] for ex in r.examples} for r in report.failed}
    assert found == {desc: {r["clip_id"] for r in bad} for desc, bad in BROKEN.items()}, report.summary()
    error = str(ManifestValidationError("demo/v1", report))
    assert error.startswith("manifest of demo/v1 failed validation (")
    assert all(desc in error for desc in BROKEN)


def test_kept_spans_outside_their_shot_or_overlapping_fail() -> None:
    rows = [
        _row(0),
        _row(1, start_frame=40, start_s=1.6),  # reaches 10 frames back into c0 and out of its own shot
        _row(2, shot_start_frame=90),  # a piece of a long shot: inside its shot, no overlap
        _row(3, status="filtered", reason="filter:motion_min", start_frame=0, start_s=0.0),  # not kept: ignored
        _row(4, source_id="s1", start_frame=0, start_s=0.0, shot_start_frame=0),  # another source
    ]
    report = validate_manifest(_manifest(rows))
    failed = {r.description: r for r in report.failed}
    assert set(failed) == {"kept clips' written span lies inside their shot", "kept clips of one source never overlap"}
    for outcome in failed.values():
        assert [ex["clip_id"] for ex in outcome.examples] == ["c1"]
    assert failed["kept clips of one source never overlap"].examples[0]["overlap_frames"] == 10.0
    assert failed["kept clips' written span lies inside their shot"].examples[0]["outside_shot_frames"] == 10.0


def test_duration_tolerance_is_configurable() -> None:
    rows = _good()
    rows[1]["end_s"] += 1.5 / 25  # 1.5 frames off
    assert not validate_manifest(_manifest(rows)).success
    assert validate_manifest(_manifest(rows), ValidationConfig(duration_tolerance_frames=2.0)).success
    assert load_config().validation == ValidationConfig()


def test_missing_column_fails_the_schema_expectation() -> None:
    report = validate_manifest(_manifest(_good()).drop(columns=["aesthetic"]))
    assert "columns are CLIP_FIELDS" in {r.description for r in report.failed}
    (outcome,) = [r for r in report.failed if r.description == "columns are CLIP_FIELDS"]
    assert outcome.examples == [{"missing": ["aesthetic"], "unexpected": []}]


def _clip(clip_id: str, start: int) -> ClipItem:
    return ClipItem(clip_id=clip_id, source_id="s0", source_uri="file:///in/s0.mp4", source_path="/in/s0.mp4",
                    span_start=start, span_end=start + 25, fps=25.0, width=64, height=48,
                    uri=f"file:///store/{clip_id}.mp4", motion_score=2.0)


def test_failing_suite_blocks_publishing(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.put_bytes("datasets/bad/v1/datacard.html", b"<p>an earlier run</p>")
    items = [SourceItem(source_id="s0", source_uri="file:///in/s0.mp4", source_path="/in/s0.mp4"),
             _clip("dup", 0), _clip("dup", 25), _clip("ok", 50)]
    with pytest.raises(ManifestValidationError, match=r"clip_id is unique") as err:
        publish(store, "bad", "v1", items, bucket_edges=3, config={})
    assert "not published" in str(err.value) and "'clip_id': 'dup'" in str(err.value)
    assert not err.value.report.success
    assert not store.exists("datasets/bad/v1/dataset.json")
    assert not store.exists("datasets/bad/v1/datacard.html")
    saved = json.loads(store.get_bytes("datasets/bad/v1/validation.json"))
    assert saved["success"] is False
    assert [r["description"] for r in saved["results"] if not r["success"]] == ["clip_id is unique"]


class _CorruptingRunner(SequentialRunner):
    """Runs the real stages, then breaks one kept clip the way a buggy stage would."""

    def run(self, stages: Sequence[Stage], items: list[Item]) -> list[Item]:
        done = super().run(stages, items)
        next(it for it in done if isinstance(it, ClipItem) and it.kept).text_area = 2.0
        return done


def test_curate_fails_and_leaves_the_version_unpublished(tmp_path: Path, demo_by_name: dict[str, GroundTruth]) -> None:
    store = LocalStore(tmp_path / "store")
    with pytest.raises(ManifestValidationError, match=r"text_area in \[0, 1\]"):
        curate([demo_by_name["cuts"].path], store=store, name="d", version="v1", progress=False,
               runner=_CorruptingRunner())
    assert not store.exists("datasets/d/v1/dataset.json")
    assert json.loads(store.get_bytes("datasets/d/v1/validation.json"))["success"] is False
    with pytest.raises(FileNotFoundError, match="not published"):
        load_dataset(store, "d", "v1")


def test_great_expectations_logs_warnings_only_unless_verbose(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    root = logging.getLogger()
    before = root.level
    with caplog.at_level(logging.INFO):
        root.setLevel(logging.INFO)
        assert validate_manifest(_manifest(_good())).success
    assert not [r for r in caplog.records if r.name.startswith("great_expectations") and r.levelno < logging.WARNING]
    assert logging.getLogger("great_expectations").getEffectiveLevel() == logging.WARNING
    root.setLevel(logging.DEBUG)
    try:
        quiet_gx()
        assert logging.getLogger("great_expectations").getEffectiveLevel() == logging.DEBUG
    finally:
        root.setLevel(before)
        quiet_gx()


def test_caption_coverage_below_the_minimum_fails_per_captioner() -> None:
    rows = _good()  # two kept clips, no captions
    rows[0].update(caption_image="a dog", caption_video="a dog runs", caption_summary="a dog runs")
    rows[1].update(caption_image="a cat")
    assert validate_manifest(_manifest(rows)).success  # not checked by default
    strict = validate_manifest(_manifest(rows), ValidationConfig(min_caption_coverage=1.0))
    assert [r.description for r in strict.failed] == [
        "caption_video covers at least 100% of kept clips", "caption_summary covers at least 100% of kept clips"]
    assert strict.failed[0].examples[0]["clip_id"] == "c1"
    assert validate_manifest(_manifest(rows), ValidationConfig(min_caption_coverage=0.5)).success
