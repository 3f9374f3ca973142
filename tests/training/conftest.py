"""Fixtures for training tests (helpers live in ``tests.support.tiny_dataset``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.tiny_dataset import publish_tiny_dataset
from vidforge.store import LocalStore

if TYPE_CHECKING:
    from diffusers import StableVideoDiffusionPipeline


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    """A local object store holding the published dataset ``tiny/v1`` (shared, read-only)."""
    store = LocalStore(tmp_path_factory.mktemp("store"))
    publish_tiny_dataset(store)
    return store


@pytest.fixture
def store_copy(tmp_path: Path) -> LocalStore:
    """A private writable store with a copy of ``tiny/v1`` (for tests that write runs)."""
    store = LocalStore(tmp_path / "store")
    publish_tiny_dataset(store)
    return store


@pytest.fixture(scope="session")
def tiny_pipe() -> StableVideoDiffusionPipeline:
    """A seeded tiny random pipeline shared by read-only tests (do not train it)."""
    from training.model import build_pipeline, load_model_config

    return build_pipeline(load_model_config("tiny"), seed=0)
