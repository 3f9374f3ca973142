"""End-to-end cut detection on synthetic videos and bikes.mp4.

Matching (:mod:`curation.cuts.eval`): one-to-one, a found cut matches a true
cut at most 2 frames away. Gradual transitions (fades, dissolves) have as ground
truth their middle frame (``GroundTruth.cuts``: for a fade through black, the
first frame of the fade-in; for a dissolve, its centre) and match within 2
frames too (``TOL_GRADUAL``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import av
import pytest

from curation.config import load_config
from curation.cuts import detect_cuts, detect_cuts_with
from curation.cuts.eval import TOL, TOL_GRADUAL, score_cuts
from curation.synthetic import GroundTruth, cut_specs, hard_negative_specs, write_video


def match(found: list[int], truth: list[int], gradual: Sequence[int] = ()) -> tuple[float, float]:
    """(precision, recall) under :func:`curation.cuts.eval.score_cuts` (±2 frames, gradual cuts included)."""
    score = score_cuts(found, truth, gradual)
    return score.precision, score.recall


def _gradual(truth: GroundTruth) -> list[int]:
    return [*truth.fade_cuts, *truth.dissolve_cuts]


@pytest.fixture(scope="module")
def cut_suite(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GroundTruth]:
    """Dissolves, flashes, a 12 px/frame pan without a cut, a static video."""
    out = tmp_path_factory.mktemp("cut_suite")
    return {name: write_video(spec, out / f"{name}.mp4") for name, spec in cut_specs().items()}


@pytest.fixture(scope="module")
def all_videos(
    demo_by_name: dict[str, GroundTruth], cut_suite: dict[str, GroundTruth]
) -> dict[str, GroundTruth]:
    return {**demo_by_name, **cut_suite}


@pytest.fixture(scope="module")
def hard_negatives(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GroundTruth]:
    """Objects sweeping past the lens, whip pans, flashes during a fast pan: no cut in any."""
    out = tmp_path_factory.mktemp("hard_negatives")
    return {name: write_video(spec, out / f"{name}.mp4") for name, spec in hard_negative_specs().items()}


def test_cut_suite_ground_truth(cut_suite: dict[str, GroundTruth]) -> None:
    dissolve = cut_suite["dissolve"]
    assert dissolve.cuts == dissolve.dissolve_cuts == [50, 100]
    assert dissolve.hard_cuts == [] and dissolve.num_frames == 150
    assert cut_suite["flashes"].flash_frames == [20, 45, 46, 90]
    assert cut_suite["fast_pan"].cuts == cut_suite["static"].cuts == []


def test_bikes_cuts_precision_and_recall(bikes: Path, bikes_cuts: list[int]) -> None:
    found = detect_cuts(bikes)
    assert match(found, bikes_cuts) == (1.0, 1.0), found


@pytest.mark.parametrize(
    "name", ["cuts", "fade_text", "fast", "short_shot", "dissolve", "flashes", "fast_pan", "static"]
)
def test_default_detector_on_synthetic_videos(name: str, all_videos: dict[str, GroundTruth]) -> None:
    truth = all_videos[name]
    found = detect_cuts(truth.path)
    assert match(found, truth.cuts, _gradual(truth)) == (1.0, 1.0), (name, found, truth.cuts)


def test_gradual_transitions_are_located_at_their_middle(all_videos: dict[str, GroundTruth]) -> None:
    for name in ("fade_text", "dissolve"):
        truth = all_videos[name]
        assert _gradual(truth), name
        found = detect_cuts(truth.path)
        for cut in _gradual(truth):
            assert min(abs(f - cut) for f in found) <= TOL_GRADUAL, (name, found, cut)


def test_flashes_are_not_cuts_but_become_cuts_without_the_flash_check(
    cut_suite: dict[str, GroundTruth],
) -> None:
    truth = cut_suite["flashes"]
    assert truth.flash_frames
    config = load_config(overrides={"cuts": {"flash_frames": 0, "revert_frames": 0}}).cuts
    found = detect_cuts_with(truth.path, config)
    assert any(abs(f - flash) <= TOL for f in found for flash in truth.flash_frames), found
    assert detect_cuts(truth.path) == truth.cuts


def test_the_coarse_rate_detector_is_the_one_that_finds_dissolves(cut_suite: dict[str, GroundTruth]) -> None:
    truth = cut_suite["dissolve"]
    defaults = load_config().cuts
    fine_only = defaults.model_copy(update={"detectors": defaults.detectors[:2]})
    assert match(detect_cuts_with(truth.path, fine_only), truth.cuts, _gradual(truth))[1] < 1.0


def test_a_huge_threshold_finds_nothing(demo_by_name: dict[str, GroundTruth]) -> None:
    config = load_config(overrides={"cuts": {"detectors": [{"kind": "content", "threshold": 255}]}}).cuts
    assert detect_cuts_with(demo_by_name["cuts"].path, config) == []


def test_each_detector_kind_is_configurable(demo_by_name: dict[str, GroundTruth]) -> None:
    truth = demo_by_name["cuts"]
    for det in ({"kind": "content", "stride": 1, "threshold": 27.0},
                {"kind": "adaptive", "stride": 2, "threshold": 3.0},
                {"kind": "histogram", "stride": 4, "threshold": 0.4}):
        config = load_config(overrides={"cuts": {"detectors": [det]}}).cuts
        assert match(detect_cuts_with(truth.path, config), truth.hard_cuts) == (1.0, 1.0), det


def test_learned_modes_need_transnet_input_size(demo_by_name: dict[str, GroundTruth]) -> None:
    config = load_config(overrides={"cuts": {"mode": "fused", "analysis_size": [64, 36]}}).cuts
    with pytest.raises(ValueError, match="48, 27"):
        detect_cuts_with(demo_by_name["cuts"].path, config)


def test_unreadable_video_raises(tmp_path: Path) -> None:
    bad = tmp_path / "x.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(av.error.FFmpegError):
        detect_cuts(bad)


@pytest.mark.slow
def test_learned_mode_finds_dissolves(cut_suite: dict[str, GroundTruth]) -> None:
    truth = cut_suite["dissolve"]
    config = load_config(overrides={"cuts": {"mode": "learned"}}).cuts
    found = detect_cuts_with(truth.path, config)
    assert match(found, truth.cuts, _gradual(truth)) == (1.0, 1.0), found


@pytest.mark.slow
def test_fused_mode_keeps_hard_cuts_exact(bikes: Path, bikes_cuts: list[int]) -> None:
    config = load_config(overrides={"cuts": {"mode": "fused"}}).cuts
    assert detect_cuts_with(bikes, config) == bikes_cuts


NO_GUARDS = {"flash_frames": 0, "revert_frames": 0, "whip_frames": 0}


@pytest.mark.parametrize("name", sorted(hard_negative_specs()))
def test_hard_negatives_fire_no_cut(name: str, hard_negatives: dict[str, GroundTruth]) -> None:
    truth = hard_negatives[name]
    assert truth.cuts == []
    assert detect_cuts(truth.path) == [], name
    # ... and they are hard: without the guards the cascade takes them for cuts.
    assert detect_cuts_with(truth.path, load_config(overrides={"cuts": NO_GUARDS}).cuts), name


@pytest.mark.parametrize(("guard", "names"), [
    ({"revert_frames": 0}, {"sweep", "sweep_pan", "flash_burst"}),  # undone changes: the revert guard
    ({"whip_frames": 0}, {"whip_pan", "whip_pan_vertical"}),  # motion bursts: the whip guard
])
def test_each_guard_is_the_one_that_rejects_its_hard_negatives(
    guard: dict[str, int], names: set[str], hard_negatives: dict[str, GroundTruth],
) -> None:
    config = load_config(overrides={"cuts": guard}).cuts
    fired = {name for name, truth in hard_negatives.items() if detect_cuts_with(truth.path, config)}
    assert fired == names
