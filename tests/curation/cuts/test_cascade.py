from __future__ import annotations

import numpy as np

from curation.config import load_config
from curation.cuts.cascade import (
    adaptive_ratio,
    cascade_events,
    content_scores,
    histogram_scores,
    histograms,
    to_hsv,
)


def _video(n: int, cut: int) -> np.ndarray:
    """Two flat-colour shots, red then blue, with the cut at ``cut`` (RGB, 27×48)."""
    frames = np.zeros((n, 27, 48, 3), np.uint8)
    frames[:cut, ..., 0] = 200
    frames[cut:, ..., 2] = 200
    return frames


def test_content_scores_peak_at_the_cut_for_every_stride() -> None:
    hsv = to_hsv(_video(40, 20))
    for stride in (1, 2, 8):
        scores = content_scores(hsv, stride)
        assert scores.shape == (40,)
        assert np.flatnonzero(scores > 0).tolist() == list(range(20, 20 + stride))


def test_histogram_distance_is_one_between_disjoint_colours_and_zero_within_a_shot() -> None:
    scores = histogram_scores(histograms(to_hsv(_video(30, 10))), 4)
    assert np.allclose(scores[10:14], 1.0)
    assert np.allclose(np.delete(scores, range(10, 14)), 0.0)
    assert np.allclose(histograms(to_hsv(_video(3, 1))).sum(axis=1), 1.0)


def test_adaptive_ratio_is_high_for_an_isolated_peak_and_low_for_a_plateau() -> None:
    scores = np.full(20, 10.0, np.float32)
    scores[10] = 60.0
    ratio = adaptive_ratio(scores, 1)
    assert ratio[10] == 6.0
    assert ratio[3] == 1.0


def test_cascade_events_on_an_array() -> None:
    events = cascade_events(_video(60, 25), load_config().cuts)
    assert {e.frame for e in events} == {25}
    assert {e.priority for e in events} == {0, 1, 2}


def test_empty_and_one_frame_videos_have_no_events() -> None:
    config = load_config().cuts
    assert cascade_events(np.zeros((0, 27, 48, 3), np.uint8), config) == []
    assert cascade_events(np.zeros((1, 27, 48, 3), np.uint8), config) == []
