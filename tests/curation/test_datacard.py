from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import pytest

from curation.datacard import build_datacard, render_html, signal_summary, thresholds, thumbnail_png
from curation.synthetic import GroundTruth
from curation.validation import ExpectationOutcome, ValidationReport
from vidforge.dataset import DatasetInfo, read_parquet_bytes
from vidforge.store import LocalStore

Curated = tuple[LocalStore, DatasetInfo, list[GroundTruth], Path]
PREFIX = "datasets/demo/v1"


def test_curated_version_has_a_passing_validation_json(curated: Curated) -> None:
    store, info, _, _ = curated
    report = json.loads(store.get_bytes(f"{PREFIX}/validation.json"))
    assert report["success"] is True
    assert report["evaluated"] == report["successful"] == len(report["results"]) > 10
    assert report["rows"] == info.clips_in


def test_datacard_json_funnel_equals_dataset_info(curated: Curated) -> None:
    store, info, _, _ = curated
    card = json.loads(store.get_bytes(f"{PREFIX}/datacard.json"))
    f = card["funnel"]
    for key in ("inputs", "sources_quarantined", "clips_in", "clips_kept", "clips_filtered", "clips_quarantined"):
        assert f[key] == getattr(info, key), key
    assert f["clips_kept"] + f["clips_filtered"] + f["clips_quarantined"] == f["clips_in"]
    removed = sum(r["count"] for r in f["removed"])
    assert removed == info.clips_filtered + info.clips_quarantined
    assert {r["reason"] for r in f["removed"]} >= {"filter:motion_min"}
    assert {r["reason"] for r in f["source_reasons"]} == {"probe:unreadable"}
    assert card["code_version"] == info.code_version and card["config"] == info.config
    assert card["validation"]["success"] is True and card["validation"]["failed"] == []


def test_datacard_signals_skip_what_was_not_computed(curated: Curated) -> None:
    store, info, _, _ = curated
    signals = {s["name"]: s for s in json.loads(store.get_bytes(f"{PREFIX}/datacard.json"))["signals"]}
    motion = signals["motion_score"]
    assert motion["computed"] and motion["min"] <= motion["kept_min"] <= motion["max"]
    assert {"label": "filter.motion_min", "value": info.config["filter"]["motion_min"]} in motion["thresholds"]
    # the sidecar-only demo profile has no aesthetic / CLIP / OCR model
    assert [n for n, s in signals.items() if not s["computed"]] == ["aesthetic", "clip_similarity", "text_area"]


def test_datacard_html_is_self_contained_with_funnel_and_images(curated: Curated) -> None:
    store, info, _, _ = curated
    html = store.get_bytes(f"{PREFIX}/datacard.html").decode()
    cells = [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', html)]
    for n in (info.inputs, info.sources_quarantined, info.clips_in, info.clips_filtered, info.clips_kept):
        assert n in cells
    pngs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(pngs) >= 2  # the motion histogram and at least one thumbnail
    assert html.count("skipped — not computed") == 3
    assert info.code_version in html and "PASSED" in html
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing fetched from elsewhere


def test_thumbnail_of_a_kept_clip_and_of_garbage(curated: Curated, tmp_path: Path) -> None:
    store, _, _, corrupt = curated
    manifest = read_parquet_bytes(store.get_bytes(f"{PREFIX}/manifest.parquet"))
    clip = manifest[manifest["status"] == "kept"].iloc[0]
    png = thumbnail_png(store.local_path(store.key_of(clip["uri"])), width=64)
    assert png and png.startswith("iVBORw0KGgo")  # base64 of the PNG signature
    assert thumbnail_png(corrupt) is None


def _info() -> DatasetInfo:
    return DatasetInfo(name="t", version="v9", created_at="2026-01-01T00:00:00", inputs=1, clips_in=3,
                       clips_kept=1, clips_filtered=1, clips_quarantined=1, sources_quarantined=0,
                       config={"filter": {"motion_min": 0.5, "motion_drop_fraction": 0.25}}, code_version="abc")


def _tiny_manifest() -> pd.DataFrame:
    return pd.DataFrame({
        "clip_id": ["a", "b", "c"], "status": ["kept", "filtered", "quarantined"],
        "reason": ["", "filter:motion_percentile", "clip:no_keyframe"], "motion_score": [5.0, 1.0, None],
        "aesthetic": [None, None, None], "clip_similarity": [0.3, None, None], "text_area": [None, None, None],
        "caption_summary": ["<script>alert(1)</script>", "", ""], "start_s": [0.0, 1.0, 2.0], "end_s": [1.0, 2.0, 3.0],
    })


def test_thresholds_and_skipped_signals() -> None:
    manifest = _tiny_manifest()
    assert thresholds("motion_score", _info().config, manifest) == [
        {"label": "filter.motion_min", "value": 0.5},
        {"label": "motion_percentile cut (drop 25%)", "value": 1.0},
    ]
    assert signal_summary("aesthetic", {}, manifest) == {"name": "aesthetic", "computed": False}
    assert signal_summary("clip_similarity", {}, manifest)["computed"] is True


def test_failed_validation_and_escaping_in_the_card() -> None:
    failed = ExpectationOutcome(description="clip_id is unique", expectation="expect_column_values_to_be_unique",
                                success=False, unexpected_count=2, examples=[{"row": 0, "clip_id": "<b>x</b>"}])
    report = ValidationReport(success=False, suite="s", gx_version="1", rows=3, evaluated=2, successful=1,
                              results=[failed])
    card = build_datacard(_info(), _tiny_manifest(), report)
    assert card["validation"]["failed"] == [asdict(failed)]
    html = render_html(card, _tiny_manifest(), clip_files={"a": "/nonexistent.mp4"})
    assert "FAILED" in html and "clip_id is unique" in html
    assert "<b>x</b>" not in html and "<script>alert" not in html  # autoescaped
    assert "No thumbnails" in html
    assert html.count("data:image/png;base64,") == 2  # motion_score + clip_similarity histograms


@pytest.mark.parametrize("signal", ["motion_score", "clip_similarity"])
def test_histogram_png_for_each_computed_signal(signal: str) -> None:
    from curation.datacard import histogram_png

    png = histogram_png(signal_summary(signal, _info().config, _tiny_manifest()), _tiny_manifest())
    assert png.startswith("iVBORw0KGgo")
