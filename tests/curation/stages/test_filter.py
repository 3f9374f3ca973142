from __future__ import annotations

import math

import pytest

from curation.config import FilterConfig
from curation.items import ClipItem, Item
from curation.stages.filter import FilterStage


def _clips(scores: list[float]) -> list[ClipItem]:
    return [ClipItem(clip_id=f"c{i:02d}", source_id="s", source_uri="", source_path="", span_start=0,
                     span_end=1, fps=24.0, width=1, height=1, motion_score=s) for i, s in enumerate(scores)]


@pytest.mark.parametrize("fraction", [0.0, 0.25, 0.5])
def test_drops_the_most_static_fraction_and_the_floor(fraction: float) -> None:
    scores = [0.1, 5.0, 0.3, 9.0, 2.0, 7.0, 3.0, 8.0, 1.0, 6.0, 4.0, 10.0]
    clips = _clips(scores)
    FilterStage(FilterConfig(motion_min=0.5, motion_drop_fraction=fraction)).process(list[Item](clips))
    n_drop = math.floor(fraction * len(scores))
    lowest = sorted(scores)[:n_drop]
    for clip in clips:
        score = clip.motion_score
        assert score is not None
        if score < 0.5:
            assert clip.reason == "filter:motion_min"
        elif score in lowest:
            assert clip.reason == "filter:motion_percentile"
        else:
            assert clip.kept
    kept = [c.motion_score for c in clips if c.kept]
    assert len(kept) == len(scores) - max(n_drop, 2)


def test_ties_break_by_clip_id() -> None:
    clips = _clips([1.0, 1.0, 1.0, 1.0])
    FilterStage(FilterConfig(motion_min=0.0, motion_drop_fraction=0.5)).process(list[Item](clips))
    assert [c.kept for c in clips] == [False, False, True, True]
