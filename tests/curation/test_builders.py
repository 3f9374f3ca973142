from __future__ import annotations

from pathlib import Path

from curation.builders import build_stages
from curation.config import load_config
from curation.runner import validate_pipeline
from vidforge.store import LocalStore


def test_default_stages_validate_in_order(tmp_path: Path) -> None:
    stages = build_stages(load_config(), tmp_path, LocalStore(tmp_path / "s"), "datasets/x/v1")
    assert [s.name for s in stages] == ["probe", "split", "clip", "frames", "motion", "captions", "filter", "upload"]
    validate_pipeline(stages)
    assert [s.name for s in stages if s.whole_dataset] == ["filter"]
    assert [s.name for s in stages if s.fans_out] == ["split"]
