"""Evaluation fixtures: a tiny dataset, trained-looking runs (tiny pipelines) and a registry."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.registry import Identities, create_identities
from tests.support.tiny_dataset import DATASET, VERSION, publish_tiny_dataset
from training.result import StageResult, write_result
from vidforge.digest import sha256_tree
from vidforge.settings import Settings, get_settings
from vidforge.store import LocalStore, open_store

STAGES = ("stage1_image", "stage2_video", "stage3_finetune")


@pytest.fixture
def identities(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Identities:
    """Registry tokens; the pipeline's is the process's configured identity (``VIDFORGE_REGISTRY__TOKEN``)."""
    monkeypatch.setenv("VIDFORGE_HOME", str(tmp_path / "home"))
    made = create_identities(get_settings())
    monkeypatch.setenv("VIDFORGE_REGISTRY__TOKEN", made.pipeline)
    return made


@pytest.fixture
def settings(identities: Identities) -> Settings:
    s = get_settings()
    publish_tiny_dataset(open_store(s.store))
    return s


@pytest.fixture
def make_run(settings: Settings, tmp_path: Path) -> Callable[[str, int], StageResult]:
    """Publish a run whose final stage is a tiny pipeline built with ``seed`` (no training)."""
    from training.config import load_stage_config
    from training.model import build_pipeline, load_model_config, save_pipeline

    def make(run_id: str, seed: int) -> StageResult:
        store = open_store(settings.store)
        cfg = load_stage_config(STAGES[-1])
        local = tmp_path / run_id / "final"
        save_pipeline(build_pipeline(load_model_config("tiny"), seed=seed), local)
        (local / "vidforge.json").write_text(json.dumps(
            {"height": cfg.height, "width": cfg.width, "num_frames": cfg.num_frames, "fps": cfg.target_fps,
             "stage": cfg.name, "run_id": run_id, "dataset_version": VERSION}
        ))
        prefix = f"runs/{run_id}/{cfg.name}"
        uri = store.put_dir(local, f"{prefix}/final")
        store.put_bytes(f"{prefix}/metrics.jsonl", b"".join(
            json.dumps({"step": i, "loss": 1.0 / i}).encode() + b"\n" for i in range(1, 6)
        ))
        result = StageResult(
            stage=cfg.name, run_id=run_id, steps=5, first_loss=1.0, last_loss=0.2, checkpoint_uri=uri,
            sha256=sha256_tree(local), metrics_uri=store.uri(f"{prefix}/metrics.jsonl"), dataset_name=DATASET,
            dataset_version=VERSION, init_uri=None, elapsed_s=1.0,
        )
        write_result(store, result)
        return result

    return make


@pytest.fixture
def local_store(settings: Settings) -> LocalStore:
    store = open_store(settings.store)
    assert isinstance(store, LocalStore)
    return store
