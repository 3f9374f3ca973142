from __future__ import annotations

import base64
import io
import json
import re
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from curation.badinputs import upright_frames, write_rotated
from curation.config import FilterConfig, LowCutConfig
from curation.datacard import (
    build_datacard,
    filter_outcomes,
    render_html,
    signal_summary,
    thresholds,
    thumbnail_png,
)
from curation.items import ClipItem
from curation.stages.filter import ORDER, decide
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
    assert [r["reason"] for r in f["filters"]] == [f"filter:{n}" for n in ORDER]
    counts = {r["reason"]: r["count"] for r in f["removed"]}
    assert all(r["removed"] == counts.get(r["reason"], 0) for r in f["filters"])
    assert {r["reason"] for r in f["source_reasons"]} == {"probe:unreadable"}
    assert card["code_version"] == info.code_version and card["config"] == info.config
    assert card["validation"]["success"] is True and card["validation"]["failed"] == []


def test_datacard_signals_skip_what_was_not_computed(curated: Curated) -> None:
    store, info, _, _ = curated
    signals = {s["name"]: s for s in json.loads(store.get_bytes(f"{PREFIX}/datacard.json"))["signals"]}
    motion = signals["motion_score"]
    assert motion["computed"] and motion["min"] <= motion["kept_min"] <= motion["max"]
    marked = {t["filter"]: t["value"] for t in motion["thresholds"]}
    assert marked["motion_min"] == info.config["filter"]["motion"]["min"]
    cut = marked["motion_percentile"]  # the effective cut: every clip below it was removed
    manifest = read_parquet_bytes(store.get_bytes(f"{PREFIX}/manifest.parquet"))
    assert (manifest.loc[manifest["motion_score"] < cut, "status"] == "filtered").all()
    assert (manifest.loc[manifest["reason"] == "filter:motion_percentile", "motion_score"] <= cut).all()
    # the sidecar-only demo profile has no aesthetic / CLIP model: those signals and their filters are skipped
    skipped = [n for n, s in signals.items() if not s["computed"]]
    assert {"aesthetic", "clip_similarity"} <= set(skipped) and "motion_score" not in skipped
    for name in skipped:
        statuses = {r["name"]: (r["status"], r["note"]) for r in signals[name]["filters"]}
        assert statuses[f"{name}_percentile"] == ("skipped", f"{name} not computed (null on all "
                                                              f"{info.extra['filters']['clips']} clips)")


def test_datacard_html_is_self_contained_with_funnel_and_images(curated: Curated) -> None:
    store, info, _, _ = curated
    html = store.get_bytes(f"{PREFIX}/datacard.html").decode()
    cells = [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', html)]
    for n in (info.inputs, info.sources_quarantined, info.clips_in, info.clips_filtered, info.clips_kept):
        assert n in cells
    pngs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(pngs) >= 2  # the motion histogram and at least one thumbnail
    card = json.loads(store.get_bytes(f"{PREFIX}/datacard.json"))
    skipped = [s for s in card["signals"] if not s["computed"]]
    assert len(skipped) >= 2 and all(f"skipped — {s['reason']}" in html for s in skipped)
    by_name = {s["name"]: s for s in skipped}
    assert by_name["aesthetic"]["reason"] == "no CLIP model configured (clip_scores.model)"
    assert "<h2>Filters</h2>" in html and "filter:clip_similarity_percentile" in html
    assert info.code_version in html and "PASSED" in html
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing fetched from elsewhere


def test_thumbnail_of_a_kept_clip_and_of_garbage(curated: Curated, tmp_path: Path) -> None:
    store, _, _, corrupt = curated
    manifest = read_parquet_bytes(store.get_bytes(f"{PREFIX}/manifest.parquet"))
    clip = manifest[manifest["status"] == "kept"].iloc[0]
    png = thumbnail_png(store.local_path(store.key_of(clip["uri"])), width=64)
    assert png and png.startswith("iVBORw0KGgo")  # base64 of the PNG signature
    assert thumbnail_png(corrupt) is None


#: Filters of the tiny dataset: motion drops its lowest half; the rest is the default profile.
_FILTER = FilterConfig(motion=LowCutConfig(min=0.5, drop_lowest=0.5))


def _info() -> DatasetInfo:
    """The tiny dataset: ``a`` kept, ``b`` filtered by the motion percentile, ``c`` quarantined before the filter."""
    reached = [ClipItem(clip_id=i, source_id="s", source_uri="", source_path="", span_start=0, span_end=1, fps=1.0,
                        width=1, height=1, motion_score=m, clip_similarity=s) for i, m, s in [("a", 5.0, 0.3),
                                                                                            ("b", 1.0, None)]]
    decision = decide(_FILTER, reached)
    assert decision.reasons == {"b": "filter:motion_percentile"}
    return DatasetInfo(name="t", version="v9", created_at="2026-01-01T00:00:00", inputs=1, clips_in=3,
                       clips_kept=1, clips_filtered=1, clips_quarantined=1, sources_quarantined=0,
                       config={"filter": _FILTER.model_dump(mode="json")}, code_version="abc",
                       extra={"filters": decision.to_dict()})


def _tiny_manifest() -> pd.DataFrame:
    return pd.DataFrame({
        "clip_id": ["a", "b", "c"], "status": ["kept", "filtered", "quarantined"],
        "reason": ["", "filter:motion_percentile", "clip:no_keyframe"], "motion_score": [5.0, 1.0, None],
        "aesthetic": [None, None, None], "clip_similarity": [0.3, None, None], "text_area": [None, None, None],
        "caption_summary": ["<script>alert(1)</script>", "", ""], "start_s": [0.0, 1.0, 2.0], "end_s": [1.0, 2.0, 3.0],
    })


def test_thresholds_and_skipped_signals() -> None:
    manifest, filters = _tiny_manifest(), filter_outcomes(_info())
    assert thresholds("motion_score", filters) == [
        {"filter": "motion_min", "kind": "min", "label": "motion_min (< 0.5)", "value": 0.5},
        {"filter": "motion_percentile", "kind": "percentile", "label": "motion_percentile cut (lowest 50%)",
         "value": 1.0},
    ]
    assert signal_summary("aesthetic", filters, manifest) == {"name": "aesthetic", "computed": False,
                                                               "reason": "not computed", "filters": [
        {"name": "aesthetic_min", "status": "disabled", "note": "filter.aesthetic.min is null"},
        {"name": "aesthetic_percentile", "status": "skipped", "note": "aesthetic not computed (null on all 2 clips)"},
    ]}
    similarity = signal_summary("clip_similarity", filters, manifest)
    assert similarity["computed"] is True and similarity["thresholds"] == []  # 1 clip × 50 % < 1: no cut
    assert similarity["filters"][1] == {"name": "clip_similarity_percentile", "status": "applied",
                                        "note": "1 clip(s) without clip_similarity not judged"}
    assert thresholds("motion_score", []) == []  # a dataset published without a filter report


def test_card_lists_every_filter_with_its_status_in_json_and_html() -> None:
    report = ValidationReport(success=True, suite="s", gx_version="1", rows=3, evaluated=1, successful=1, results=[])
    card = build_datacard(_info(), _tiny_manifest(), report)
    rows = {r["name"]: r for r in card["funnel"]["filters"]}
    assert list(rows) == list(ORDER)
    assert (rows["motion_percentile"]["removed"], rows["motion_percentile"]["threshold"]) == (1, 1.0)
    assert rows["text_area_max"]["status"] == "skipped" and rows["aesthetic_min"]["status"] == "disabled"
    html = render_html(card, _tiny_manifest(), clip_files={})
    assert "motion_percentile cut (lowest 50%) = 1" in html  # the histogram caption names the cut
    for name, row in rows.items():
        assert f"<code>filter:{name}</code>" in html
        assert row["note"] in html
    assert html.count('<td class="skipped">skipped</td>') == sum(r["status"] == "skipped" for r in rows.values()) == 3
    # aesthetic (no CLIP model in the recorded config) and text_area (null, no configured reason)
    assert html.count("skipped — no CLIP model configured (clip_scores.model)") == 1
    assert html.count("skipped — not computed") == 1


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

    png = histogram_png(signal_summary(signal, filter_outcomes(_info()), _tiny_manifest()), _tiny_manifest())
    assert png.startswith("iVBORw0KGgo")


def test_thumbnail_of_a_rotated_video_is_upright(tmp_path: Path) -> None:
    png = thumbnail_png(write_rotated(tmp_path / "portrait.mp4"), width=160)
    assert png is not None
    image = np.asarray(Image.open(io.BytesIO(base64.b64decode(png))).convert("RGB"))
    assert image.shape == upright_frames(num_frames=1)[0].shape == (160, 120, 3)
    assert image[:12].mean() > 240 > image[-40:].mean()  # the white bar marks the top


def test_caption_coverage_per_captioner_counts_kept_clips_only() -> None:
    import pandas as pd

    from curation.datacard import caption_coverage

    manifest = pd.DataFrame({
        "status": ["kept", "kept", "kept", "filtered"],
        "caption_image": ["a", "b", "", "c"], "caption_video": ["", " ", "", "c"], "caption_summary": ["a", "", "", ""],
    })
    got = {c["captioner"]: (c["kept"], c["captioned"], c["coverage"], c["source"])
           for c in caption_coverage(manifest, "sidecar")}
    assert got == {"image": (3, 2, 2 / 3, "sidecar"), "video": (3, 0, 0.0, "sidecar"),
                   "summary": (3, 1, 1 / 3, "sidecar")}
    assert all(c["coverage"] is None for c in caption_coverage(manifest[manifest["status"] == "x"]))
