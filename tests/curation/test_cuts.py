from __future__ import annotations

from pathlib import Path

import pytest
from scenedetect import VideoOpenFailure

from curation.config import load_config
from curation.cuts import detect_cuts, detect_cuts_with, merge_cuts
from curation.synthetic import GroundTruth

TOL = 2  # frames


def _match(found: list[int], truth: list[int], tol: int = TOL) -> tuple[float, float]:
    """(precision, recall) with one-to-one matching within ``tol`` frames."""
    unmatched = list(found)
    hits = 0
    for t in truth:
        near = [f for f in unmatched if abs(f - t) <= tol]
        if near:
            unmatched.remove(min(near, key=lambda f: abs(f - t)))
            hits += 1
    precision = hits / len(found) if found else 1.0
    recall = hits / len(truth) if truth else 1.0
    return precision, recall


def test_bikes_cuts_precision_and_recall(bikes: Path, bikes_cuts: list[int]) -> None:
    found = detect_cuts(bikes)
    precision, recall = _match(found, bikes_cuts)
    assert (precision, recall) == (1.0, 1.0), found


def test_synthetic_hard_cuts_found_without_spurious_cuts(demo_suite: list[GroundTruth]) -> None:
    for truth in demo_suite:
        found = detect_cuts(truth.path)
        _, recall = _match(found, truth.hard_cuts)
        assert recall == 1.0, (truth.path, found, truth.hard_cuts)
        precision, _ = _match(found, truth.cuts)  # fades may be found too: they are real shot changes
        assert precision == 1.0, (truth.path, found, truth.cuts)


def test_no_spurious_cut_inside_fast_motion(demo_by_name: dict[str, GroundTruth]) -> None:
    fast = demo_by_name["fast"]
    assert fast.shots[0].speed >= 4
    inside = [c for c in detect_cuts(fast.path) if c < fast.shots[0].end_frame - TOL]
    assert inside == []


def test_other_detectors_are_configurable(demo_by_name: dict[str, GroundTruth]) -> None:
    truth = demo_by_name["cuts"]
    config = load_config(overrides={"cuts": {"detectors": [{"kind": "adaptive", "threshold": 3.0}],
                                             "backend": "pyav"}}).cuts
    assert _match(detect_cuts_with(truth.path, config), truth.hard_cuts) == (1.0, 1.0)


def test_a_huge_threshold_finds_nothing(demo_by_name: dict[str, GroundTruth]) -> None:
    config = load_config(overrides={"cuts": {"detectors": [{"kind": "content", "threshold": 255}]}}).cuts
    assert detect_cuts_with(demo_by_name["cuts"].path, config) == []


def test_merge_cuts_collapses_near_duplicates() -> None:
    assert merge_cuts([59, 60, 0, 115, 113, 200], within=2) == [59, 113, 200]
    assert merge_cuts([59, 60], within=0) == [59, 60]


def test_unreadable_video_raises(tmp_path: Path) -> None:
    bad = tmp_path / "x.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(VideoOpenFailure):
        detect_cuts(bad)
