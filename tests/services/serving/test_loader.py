"""Loading a verified directory: one pipeline per worker (shared weights per device), warm-up, defaults."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.serving.artifacts import ArtifactRejectedError
from services.serving.loader import load_model, read_defaults, warm_up, worker_devices
from services.serving.params import ModelDefaults
from services.serving.registry_client import AliasTarget
from tests.services.serving.conftest import DEFAULTS, EDGES_V1, MODEL, Artifacts


def _target(artifacts: Artifacts) -> AliasTarget:
    return AliasTarget(MODEL, "production", 1, artifacts.v1.uri, artifacts.v1.sha256)


def test_worker_devices() -> None:
    assert worker_devices("cpu", 0) == ["cpu"]
    assert worker_devices("cpu", 3) == ["cpu", "cpu", "cpu"]
    assert worker_devices("cuda:1", 2) == ["cuda:1", "cuda:1"]


def test_each_worker_gets_its_own_pipeline_sharing_the_weights(artifacts: Artifacts) -> None:
    model = load_model(_target(artifacts), artifacts.v1.path, ["cpu", "cpu"], datetime.now(UTC))
    a, b = model.pipelines
    assert a is not b and a.scheduler is not b.scheduler  # per-call state is per worker
    assert a.unet is b.unet and a.vae is b.vae  # weights are loaded once per device
    assert model.pipeline_for(3) is b and model.latent_factor == 2  # the tiny VAE down-samples by 2
    assert model.defaults == ModelDefaults(**DEFAULTS, motion_bucket_edges=EDGES_V1)
    assert (model.info.version, model.info.run_id, model.stamp.sha256) == (1, "models/tiny/v1", artifacts.v1.sha256)


def test_warm_up_generates_once_and_records_its_time(artifacts: Artifacts) -> None:
    model = load_model(_target(artifacts), artifacts.v1.path, ["cpu"], datetime.now(UTC))
    warmed = warm_up(model)
    assert warmed.info.warmup_s > 0 and warmed.pipelines == model.pipelines


def test_broken_directory_and_failing_warm_up_are_refused(artifacts: Artifacts, tmp_path: Path) -> None:
    with pytest.raises(ArtifactRejectedError) as info:
        load_model(_target(artifacts), tmp_path, ["cpu"], datetime.now(UTC))
    assert info.value.reason == "load"
    model = load_model(_target(artifacts), artifacts.v1.path, ["cpu"], datetime.now(UTC))

    class Broken:
        def __call__(self, *args: object, **kwargs: object) -> None:
            raise RuntimeError("CUDA error: out of memory")

    with pytest.raises(ArtifactRejectedError, match="out of memory") as info:
        warm_up(type(model)(model.info, (Broken(),), model.defaults, model.latent_factor))
    assert info.value.reason == "warmup"


def test_defaults_without_vidforge_json(tmp_path: Path) -> None:
    assert read_defaults(tmp_path) == ModelDefaults()
