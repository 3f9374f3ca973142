from __future__ import annotations

import numpy as np

from curation.cuts.events import Event, enforce_min_scene_len, merge_cuts, merge_events, true_runs


def test_merge_cuts_collapses_near_duplicates() -> None:
    assert merge_cuts([59, 60, 0, 115, 113, 200], within=2) == [59, 113, 200]
    assert merge_cuts([59, 60], within=0) == [59, 60]


def test_a_cut_found_by_several_detectors_is_one_cut_placed_by_the_first_listed() -> None:
    events = [Event(41, 41, 41, priority=1), Event(40, 40, 40, priority=0), Event(43, 38, 47, priority=2)]
    assert merge_events(events, within=2) == [40]


def test_overlapping_gradual_spans_merge_but_distant_events_do_not() -> None:
    events = [Event(60, 52, 67, priority=2), Event(66, 66, 66, priority=0), Event(90, 90, 90, priority=0)]
    assert merge_events(events, within=2) == [66, 90]
    assert merge_events([Event(60, 60, 60), Event(63, 63, 63)], within=2) == [60, 63]


def test_frame_zero_is_never_a_cut() -> None:
    assert merge_events([Event(0, 0, 0)], within=2) == []


def test_min_scene_len_keeps_the_first_of_close_events() -> None:
    events = [Event(30, 30, 30), Event(40, 40, 40), Event(45, 45, 45)]
    assert [e.frame for e in enforce_min_scene_len(events, 15)] == [30, 45]


def test_true_runs() -> None:
    mask = np.array([0, 1, 1, 0, 0, 1, 0, 1], bool)
    assert true_runs(mask) == [(1, 2), (5, 5), (7, 7)]
    assert true_runs(np.zeros(0, bool)) == []
