"""ModelWatcher reading the registry over HTTP: load, warm up, swap, refuse with backoff, readiness."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from services.serving.errors import NoModelLoadedError
from services.serving.metrics import ServingMetrics
from services.serving.registry_client import AliasNotSetError, AliasTarget, RegistryUnavailableError
from services.serving.watcher import ModelWatcher
from tests.services.serving.conftest import MODEL, Artifacts, GovernedRegistry, RegistryApi
from vidforge.digest import sha256_tree
from vidforge.settings import Settings


def _sample(metrics: ServingMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels or None) or 0.0


def _watcher(settings: Settings, api: RegistryApi, metrics: ServingMetrics | None = None) -> ModelWatcher:
    return ModelWatcher(settings, metrics or ServingMetrics(), source_factory=api.source, devices=["cpu"])


def test_first_poll_loads_warms_up_and_is_ready(settings: Settings, registry_api: RegistryApi,
                                                 artifacts: Artifacts) -> None:
    metrics = ServingMetrics()
    watcher = _watcher(settings, registry_api, metrics)
    assert not watcher.readiness().ready and watcher.readiness().reason == "not polled yet"
    with pytest.raises(NoModelLoadedError, match="not polled yet"):
        watcher.require()

    result = watcher.refresh_now()

    assert (result.outcome, result.version) == ("loaded", 1)
    model = watcher.require()
    assert model.stamp.to_dict() == {"name": MODEL, "version": 1, "sha256": artifacts.v1.sha256}
    assert model.info.warmup_s > 0 and Path(model.info.path) == Path(settings.serving.cache_dir) / MODEL / "1"
    ready = watcher.readiness()
    assert (ready.ready, ready.serving_version, ready.target_version) == (True, 1, 1)
    assert _sample(metrics, "vidforge_serving_model_loads_total") == 1
    assert _sample(metrics, "vidforge_serving_ready") == 1
    assert metrics.registry.get_sample_value(
        "vidforge_serving_model_info", {"name": MODEL, "version": "1", "sha256": artifacts.v1.sha256}) == 1
    assert watcher.refresh_now().outcome == "unchanged"
    assert [v for _, v in watcher.history] == [1]


def test_alias_move_swaps_and_the_old_model_stays_usable(
    settings: Settings, registry_api: RegistryApi, registry: GovernedRegistry, artifacts: Artifacts
) -> None:
    watcher = _watcher(settings, registry_api)
    watcher.refresh_now()
    old = watcher.require()
    registry.create_version(MODEL, artifact_uri=artifacts.v2.uri, sha256=artifacts.v2.sha256)
    registry.set_alias(MODEL, "production", 2)

    assert watcher.refresh_now().outcome == "loaded"

    new = watcher.require()
    assert (old.info.version, new.info.version) == (1, 2) and new.pipeline is not old.pipeline
    assert old.defaults.motion_bucket_edges == artifacts.v1.edges  # jobs holding v1 keep v1's mapping
    assert [v for _, v in watcher.history] == [1, 2]
    picked = watcher.acquire()
    assert picked is not None and picked[0] is new and picked[1] >= watcher.history[-1][0]


def test_a_refused_promotion_makes_the_replica_not_ready_and_is_retried_with_backoff(
    settings: Settings, registry_api: RegistryApi, registry: GovernedRegistry, artifacts: Artifacts,
    tmp_path: Path,
) -> None:
    metrics = ServingMetrics()
    watcher = _watcher(settings, registry_api, metrics)
    watcher.refresh_now()
    key = f"late/{tmp_path.name}"
    registry.create_version(MODEL, artifact_uri=artifacts.store.uri(key), sha256=artifacts.v2.sha256)
    registry.set_alias(MODEL, "production", 2)

    first = watcher.refresh_now()

    assert (first.outcome, first.version) == ("rejected", 2) and "(download)" in first.reason
    ready = watcher.readiness()
    assert not ready.ready and (ready.serving_version, ready.target_version) == (1, 2)
    assert "production is version 2 but it failed to load (download" in ready.reason
    assert "serving stale version 1" in ready.reason
    assert watcher.require().info.version == 1  # the old model keeps serving jobs
    assert watcher.refresh_now().outcome == "backoff"  # not retried before its time
    assert _sample(metrics, "vidforge_serving_model_load_failures_total", reason="download") == 1
    assert _sample(metrics, "vidforge_serving_ready") == 0

    shutil.copytree(artifacts.v2.path, artifacts.store.local_path(key))  # the upload lands late
    time.sleep(settings.serving.load_retry_base_s + 0.05)
    assert watcher.refresh_now().outcome == "loaded"
    assert watcher.readiness().ready and watcher.require().info.version == 2


def test_backoff_doubles_up_to_its_cap(settings: Settings, registry_api: RegistryApi, registry: GovernedRegistry,
                                       artifacts: Artifacts) -> None:
    watcher = _watcher(settings, registry_api)
    registry.create_version(MODEL, artifact_uri=artifacts.v1.uri, sha256="0" * 64)
    registry.set_alias(MODEL, "production", 2)
    waits = []
    for _ in range(4):
        assert watcher.refresh_now().outcome == "rejected"
        failure = next(iter(watcher._failures.values()))
        waits.append(round(failure.retry_at - time.monotonic(), 1))
        failure.retry_at = 0.0  # due now
    assert waits == [0.2, 0.4, 0.8, 1.0]  # base 0.2 s doubling, capped at 1 s
    assert not watcher.readiness().ready and "sha256_mismatch" in watcher.readiness().reason


def test_unloadable_artifact_is_refused_with_load(
    settings: Settings, registry_api: RegistryApi, registry: GovernedRegistry, artifacts: Artifacts, tmp_path: Path
) -> None:
    broken = artifacts.store.local_path(f"broken/{tmp_path.name}")
    shutil.copytree(artifacts.v1.path, broken)
    (broken / "unet" / "config.json").unlink()
    registry.create_version(MODEL, artifact_uri=artifacts.store.uri(f"broken/{tmp_path.name}"),
                            sha256=sha256_tree(broken))
    registry.set_alias(MODEL, "production", 2)
    watcher = _watcher(settings, registry_api)
    result = watcher.refresh_now()
    assert result.outcome == "rejected" and "(load)" in result.reason and watcher.current() is None
    with pytest.raises(NoModelLoadedError, match=r"unet/config\.json"):
        watcher.require()


class _Source:
    def __init__(self, answers: list[AliasTarget | Exception]) -> None:
        self.answers = answers

    def resolve(self, name: str, alias: str) -> AliasTarget:
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_registry_outage_keeps_serving_and_unset_alias_is_not_ready(
    settings: Settings, artifacts: Artifacts
) -> None:
    target = AliasTarget(MODEL, "production", 1, artifacts.v1.uri, artifacts.v1.sha256)
    source = _Source([target, RegistryUnavailableError("registry", "down"), AliasNotSetError("unset")])
    metrics = ServingMetrics()
    watcher = ModelWatcher(settings, metrics, source_factory=lambda: source, devices=["cpu"])
    assert watcher.refresh_now().outcome == "loaded"
    outage = watcher.refresh_now()
    assert outage.outcome == "error" and "registry unavailable (registry): down" in outage.reason
    assert watcher.readiness().ready  # the last known production version keeps serving
    assert _sample(metrics, "vidforge_serving_model_load_failures_total", reason="registry") == 1
    assert watcher.refresh_now().outcome == "no_alias"
    assert not watcher.readiness().ready and "alias 'production' is not set" in watcher.readiness().reason


def test_background_thread_follows_the_alias_and_trigger(
    settings: Settings, registry_api: RegistryApi, registry: GovernedRegistry, artifacts: Artifacts,
    wait_for: Callable[..., None],
) -> None:
    slow = settings.model_copy(deep=True)
    slow.serving.poll_interval_s = 60.0  # only trigger() can cause the second poll in time
    watcher = _watcher(slow, registry_api)
    watcher.start()
    try:
        wait_for(lambda: watcher.current() is not None, what="first load")
        registry.create_version(MODEL, artifact_uri=artifacts.v2.uri, sha256=artifacts.v2.sha256)
        registry.set_alias(MODEL, "production", 2)
        watcher.trigger()
        wait_for(lambda: watcher.require().info.version == 2, what="triggered swap to v2")
    finally:
        watcher.stop()
