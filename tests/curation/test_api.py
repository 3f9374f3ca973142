from pathlib import Path

import pytest

from curation.api import curate_task
from curation.synthetic import GroundTruth, write_corrupt
from vidforge.dataset import load_dataset
from vidforge.store import LocalStore


def test_curate_task_uses_configured_store_and_returns_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_suite: list[GroundTruth]
) -> None:
    monkeypatch.setenv("VIDFORGE_HOME", str(tmp_path / "home"))
    corrupt = write_corrupt(tmp_path / "bad.mp4")
    sources = [str(demo_suite[0].path), str(corrupt)]
    summary = curate_task(sources, "unit", "v7")
    assert summary["name"] == "unit" and summary["version"] == "v7"
    assert summary["inputs"] == 2 and summary["sources_quarantined"] == 1
    assert summary["clips_in"] == summary["clips_kept"] + summary["clips_filtered"] + summary["clips_quarantined"]
    ds = load_dataset(LocalStore(tmp_path / "home" / "store"), "unit", "v7")
    assert len(ds.manifest) == summary["clips_in"]


def test_curate_task_applies_profile_overrides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_suite: list[GroundTruth]
) -> None:
    monkeypatch.setenv("VIDFORGE_HOME", str(tmp_path / "home"))
    overrides = {"split.min_clip_s": 60.0, "split.max_clip_s": 120.0, "filter": {"text_area": {"drop_highest": None}}}
    summary = curate_task([str(demo_suite[0].path)], "unit", "v8", overrides=overrides)
    assert summary["config"]["split"]["min_clip_s"] == 60.0  # recorded with the version
    assert summary["config"]["filter"]["text_area"]["drop_highest"] is None
    assert summary["clips_kept"] == 0 and summary["clips_filtered"] == summary["clips_in"] > 0  # all too short
    with pytest.raises(ValueError, match="split"):
        curate_task([str(demo_suite[0].path)], "unit", "v9", overrides={"split.no_such_key": 1})
