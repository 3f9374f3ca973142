from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from curation.builders import build_stages
from curation.config import load_config
from curation.runner import validate_pipeline
from curation.stages.upload import UploadStage
from vidforge.store import LocalStore, ObjectStore, S3Store


def test_default_stages_validate_in_order(tmp_path: Path) -> None:
    stages = build_stages(load_config(), tmp_path, LocalStore(tmp_path / "s"), "datasets/x/v1")
    assert [s.name for s in stages] == ["probe", "split", "clip", "frames", "motion", "text", "captions", "filter",
                                         "upload"]
    validate_pipeline(stages)
    assert [s.name for s in stages if s.whole_dataset] == ["filter"]
    assert [s.name for s in stages if s.fans_out] == ["split"]


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_every_stage_pickles_before_setup(tmp_path: Path, kind: str) -> None:
    """Stages travel to Ray workers pickled; the upload stage carries store settings, not a client."""
    store: ObjectStore = (LocalStore(tmp_path / "s") if kind == "local"
                          else S3Store("s3://bucket/pre", endpoint_url="http://127.0.0.1:9", region="eu-west-1"))
    stages = build_stages(load_config(), tmp_path, store, "datasets/x/v1")
    copies = [pickle.loads(pickle.dumps(stage)) for stage in stages]
    assert [type(c) for c in copies] == [type(s) for s in stages]
    upload = copies[-1]
    assert isinstance(upload, UploadStage)
    upload.setup()
    assert upload.store is not None and upload.store.settings() == store.settings()


def test_clip_scores_run_after_captions_only_when_a_model_is_configured(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "s")
    names = [s.name for s in build_stages(load_config(), tmp_path, store, "datasets/x/v1")]
    assert "clip_scores" not in names
    config = load_config(overrides={"clip_scores": {"model": str(tmp_path / "clip")}})  # not loaded before setup()
    stages = build_stages(config, tmp_path, store, "datasets/x/v1")
    names = [s.name for s in stages]
    assert names.index("clip_scores") == names.index("captions") + 1 and names.count("clip_scores") == 1
    validate_pipeline(stages)
    stage = stages[names.index("clip_scores")]
    assert stage.config == config.clip_scores and stage.store == store.settings()  # type: ignore[attr-defined]
    assert pickle.loads(pickle.dumps(stage)).config == config.clip_scores  # type: ignore[attr-defined]
