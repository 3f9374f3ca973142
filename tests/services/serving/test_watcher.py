"""ModelWatcher against a real SQLite registry and tiny model artefacts in a LocalStore."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from services.registry.store import RegistryStore
from services.serving.errors import NoModelLoadedError
from services.serving.metrics import ServingMetrics
from services.serving.params import ModelDefaults
from services.serving.watcher import ModelWatcher
from vidforge.settings import Settings

if TYPE_CHECKING:
    from tests.services.serving.conftest import Artifacts

MODEL = "vidforge-i2v"


def _sample(metrics: ServingMetrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels or None)
    return 0.0 if value is None else value


def test_first_poll_downloads_verifies_and_loads(settings: Settings, artifacts: Artifacts) -> None:
    metrics = ServingMetrics()
    watcher = ModelWatcher(settings, metrics)
    with pytest.raises(NoModelLoadedError, match="not polled yet"):
        watcher.require()

    result = watcher.refresh_now()

    assert (result.outcome, result.version) == ("loaded", 1)
    info, pipe, defaults = watcher.require()
    assert (info.name, info.version, info.sha256, info.run_id) == (MODEL, 1, artifacts.v1.sha256, "r1")
    cached = Path(settings.serving.cache_dir) / MODEL / "1"
    assert Path(info.path) == cached and (cached / "model_index.json").is_file()
    assert not [p for p in cached.parent.iterdir() if p.name.startswith(".tmp")]
    assert defaults == ModelDefaults(
        height=64, width=64, num_frames=4, fps=6, num_inference_steps=2, motion_bucket_edges=artifacts.v1.edges,
    )
    assert type(pipe).__name__ == "StableVideoDiffusionPipeline"
    assert _sample(metrics, "vidforge_serving_model_loads_total") == 1
    assert _sample(metrics, "vidforge_serving_model_version") == 1
    assert watcher.refresh_now().outcome == "unchanged"
    assert _sample(metrics, "vidforge_serving_model_loads_total") == 1


def test_alias_move_swaps_but_old_model_object_stays_usable(
    settings: Settings, registry: RegistryStore, artifacts: Artifacts
) -> None:
    watcher = ModelWatcher(settings, ServingMetrics())
    watcher.refresh_now()
    old = watcher.require()
    registry.create_version(MODEL, artifact_uri=artifacts.v2.uri, sha256=artifacts.v2.sha256)
    registry.set_alias(MODEL, "production", 2)

    assert watcher.refresh_now().outcome == "loaded"

    new = watcher.require()
    assert (old.info.version, new.info.version) == (1, 2)
    assert new.pipeline is not old.pipeline
    # Each version brings its own motion mapping; the old one keeps its edges for jobs bound to it.
    assert (old.defaults.motion_bucket_edges, new.defaults.motion_bucket_edges) == (
        artifacts.v1.edges, artifacts.v2.edges,
    )
    assert old.pipeline.unet is not None  # a job holding the old model still has its weights
    assert sorted(p.name for p in (Path(settings.serving.cache_dir) / MODEL).iterdir()) == ["1", "2"]


def test_sha256_mismatch_is_refused_and_old_model_keeps_serving(
    settings: Settings, registry: RegistryStore, artifacts: Artifacts
) -> None:
    metrics = ServingMetrics()
    watcher = ModelWatcher(settings, metrics)
    watcher.refresh_now()
    registry.create_version(MODEL, artifact_uri=artifacts.v2.uri, sha256="0" * 64)
    registry.set_alias(MODEL, "production", 2)

    result = watcher.refresh_now()

    assert (result.outcome, result.version) == ("rejected", 2)
    assert "sha256_mismatch" in result.reason and artifacts.v2.sha256 in result.reason
    assert watcher.require().info.version == 1
    assert _sample(metrics, "vidforge_serving_model_load_failures_total", reason="sha256_mismatch") == 1
    assert not (Path(settings.serving.cache_dir) / MODEL / "2").exists()
    # Refusal is remembered: no second download, no second count.
    assert watcher.refresh_now().outcome == "rejected"
    assert _sample(metrics, "vidforge_serving_model_load_failures_total", reason="sha256_mismatch") == 1


def test_unloadable_artifact_is_refused(
    settings: Settings, registry: RegistryStore, artifacts: Artifacts, tmp_path: Path
) -> None:
    broken = artifacts.store.local_path(f"broken/{tmp_path.name}")
    shutil.copytree(artifacts.v1.path, broken)
    (broken / "unet" / "config.json").unlink()
    from vidforge.digest import sha256_tree

    registry.create_version(MODEL, artifact_uri=artifacts.store.uri(f"broken/{tmp_path.name}"),
                            sha256=sha256_tree(broken))
    registry.set_alias(MODEL, "production", 2)
    metrics = ServingMetrics()
    watcher = ModelWatcher(settings, metrics)

    result = watcher.refresh_now()

    assert result.outcome == "rejected" and "(load)" in result.reason
    assert watcher.current() is None
    with pytest.raises(NoModelLoadedError, match=r"unet/config\.json"):
        watcher.require()
    assert _sample(metrics, "vidforge_serving_model_load_failures_total", reason="load") == 1


def test_missing_artifact_is_retried_on_next_poll(
    settings: Settings, registry: RegistryStore, artifacts: Artifacts, tmp_path: Path
) -> None:
    key = f"late/{tmp_path.name}"
    registry.create_version(MODEL, artifact_uri=artifacts.store.uri(key), sha256=artifacts.v1.sha256)
    registry.set_alias(MODEL, "production", 2)
    metrics = ServingMetrics()
    watcher = ModelWatcher(settings, metrics)

    first = watcher.refresh_now()
    shutil.copytree(artifacts.v1.path, artifacts.store.local_path(key))  # the upload lands late
    second = watcher.refresh_now()

    assert first.outcome == "rejected" and "(download)" in first.reason
    assert (second.outcome, second.version) == ("loaded", 2)
    assert _sample(metrics, "vidforge_serving_model_load_failures_total", reason="download") == 1


def test_no_alias_and_unreachable_registry_are_reported(settings: Settings, tmp_path: Path) -> None:
    missing_alias = settings.model_copy(deep=True)
    missing_alias.serving.alias = "staging"
    watcher = ModelWatcher(missing_alias, ServingMetrics())
    result = watcher.refresh_now()
    assert result.outcome == "no_alias" and "'staging'" in result.reason

    away = settings.model_copy(deep=True)
    away.registry.db_url = f"sqlite:///{tmp_path / 'never-migrated.db'}"
    metrics = ServingMetrics()
    watcher = ModelWatcher(away, metrics)
    result = watcher.refresh_now()
    assert result.outcome == "error" and "registry unavailable" in result.reason
    assert "registry unavailable" in watcher.status
    assert _sample(metrics, "vidforge_serving_model_load_failures_total", reason="registry") == 1


def test_defaults_without_vidforge_json(
    settings: Settings, registry: RegistryStore, artifacts: Artifacts, tmp_path: Path
) -> None:
    bare = artifacts.store.local_path(f"bare/{tmp_path.name}")
    shutil.copytree(artifacts.v1.path, bare)
    (bare / "vidforge.json").unlink()
    from vidforge.digest import sha256_tree

    registry.create_version(MODEL, artifact_uri=artifacts.store.uri(f"bare/{tmp_path.name}"),
                            sha256=sha256_tree(bare))
    registry.set_alias(MODEL, "production", 2)
    watcher = ModelWatcher(settings, ServingMetrics())
    watcher.refresh_now()
    assert watcher.require().defaults == ModelDefaults()
    assert json.loads((artifacts.v1.path / "vidforge.json").read_text())["fps"] == 6


def test_background_thread_follows_alias_and_trigger(
    settings: Settings, registry: RegistryStore, artifacts: Artifacts, wait_for: Callable[..., None]
) -> None:
    slow = settings.model_copy(deep=True)
    slow.serving.poll_interval_s = 60.0  # only trigger() can cause the second poll in time
    watcher = ModelWatcher(slow, ServingMetrics())
    watcher.start()
    try:
        wait_for(lambda: watcher.current() is not None, what="first load")
        registry.create_version(MODEL, artifact_uri=artifacts.v2.uri, sha256=artifacts.v2.sha256)
        registry.set_alias(MODEL, "production", 2)
        watcher.trigger()
        wait_for(lambda: watcher.require().info.version == 2, what="triggered swap to v2")
    finally:
        watcher.stop()
