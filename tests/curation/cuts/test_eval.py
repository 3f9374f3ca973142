from __future__ import annotations

from curation.cuts.eval import Score, score_cuts


def test_one_to_one_matching_within_tolerance() -> None:
    assert score_cuts([30, 31, 78, 200], [30, 76, 137]) == Score(tp=2, fp=2, fn=1)
    assert score_cuts([], []) == Score()
    assert Score().f1 == 1.0


def test_gradual_cuts_use_their_own_tolerance() -> None:
    assert score_cuts([62], [60], gradual=[60]).tp == 1 and score_cuts([63], [60], gradual=[60]).tp == 0  # ±2
    assert score_cuts([64], [60]).tp == 0
    assert score_cuts([64], [60], gradual=[60], tol_gradual=4).tp == 1


def test_scores_add_up_across_videos() -> None:
    total = Score(3, 1, 0) + Score(1, 0, 1)
    assert total == Score(4, 1, 1)
    assert round(total.f1, 4) == 0.8
