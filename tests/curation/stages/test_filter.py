from __future__ import annotations

import math
import random

import pytest

from curation.config import FilterConfig, HighCutConfig, LowCutConfig
from curation.items import ClipItem, Item
from curation.stages.base import Resources, Stage
from curation.stages.filter import ORDER, FilterOutcome, FilterStage, decide, filter_rules, run_report
from curation.stages.probe import ProbeStage

#: Every filter off; tests switch on the ones they exercise.
OFF = FilterConfig(motion=LowCutConfig(), aesthetic=LowCutConfig(), clip_similarity=LowCutConfig(),
                   text_area=HighCutConfig())


def _clip(i: int, **signals: float | None) -> ClipItem:
    return ClipItem(clip_id=f"c{i:03d}", source_id="s", source_uri="", source_path="", span_start=0, span_end=1,
                    fps=24.0, width=1, height=1, **signals)


def _run(config: FilterConfig, clips: list[ClipItem]) -> dict[str, str]:
    """Run the stage over ``clips``; clip_id → reason of the removed ones."""
    FilterStage(config).process(list[Item](clips))
    assert all(c.kept == (c.reason == "") for c in clips)
    return {c.clip_id: c.reason for c in clips if not c.kept}


def _distinct(n: int, seed: int) -> list[float]:
    values = [round(0.01 * k, 2) for k in range(n)]
    random.Random(seed).shuffle(values)
    return values


@pytest.mark.parametrize(("key", "signal", "high"), [
    ("motion", "motion_score", False), ("aesthetic", "aesthetic", False),
    ("clip_similarity", "clip_similarity", False), ("text_area", "text_area", True),
])
@pytest.mark.parametrize(("n", "fraction"), [(12, 0.25), (12, 0.5), (10, 0.25), (7, 0.1), (100, 0.29)])
def test_each_percentile_filter_drops_floor_fraction_from_its_end(
    key: str, signal: str, high: bool, n: int, fraction: float
) -> None:
    values = _distinct(n, seed=n)
    clips = [_clip(i, **{signal: v}) for i, v in enumerate(values)]
    cut = HighCutConfig(drop_highest=fraction) if high else LowCutConfig(drop_lowest=fraction)
    removed = _run(OFF.model_copy(update={key: cut}), clips)
    expected_n = {(12, 0.25): 3, (12, 0.5): 6, (10, 0.25): 2, (7, 0.1): 0, (100, 0.29): 29}[(n, fraction)]
    ranked = sorted(values, reverse=high)
    assert sorted(getattr(c, signal) for c in clips if not c.kept) == sorted(ranked[:expected_n])
    assert set(removed.values()) <= {f"filter:{key}_percentile"} and len(removed) == expected_n


def test_absolute_thresholds_are_strict_and_text_removes_high_values() -> None:
    clips = [_clip(i, motion_score=m, aesthetic=a, clip_similarity=s, text_area=t) for i, (m, a, s, t) in
             enumerate([(0.4, 5.0, 0.3, 0.0), (0.5, 5.0, 0.3, 0.0), (2.0, 4.9, 0.3, 0.0), (2.0, 5.0, 0.3, 0.0),
                        (2.0, 6.0, 0.19, 0.0), (2.0, 6.0, 0.2, 0.07), (2.0, 6.0, 0.2, 0.08)])]
    config = OFF.model_copy(update={"motion": LowCutConfig(min=0.5), "aesthetic": LowCutConfig(min=5.0),
                                    "clip_similarity": LowCutConfig(min=0.2), "text_area": HighCutConfig(max=0.07)})
    assert _run(config, clips) == {"c000": "filter:motion_min", "c002": "filter:aesthetic_min",
                                   "c004": "filter:clip_similarity_min", "c006": "filter:text_area_max"}


def test_null_and_nan_signals_are_not_judged() -> None:
    # 8 clips with an aesthetic score (one NaN among the 9 non-null → 8 judged), 3 without
    aesthetic: list[float | None] = [3.0, 1.0, 7.0, 5.0, None, 2.0, 8.0, None, 4.0, 6.0, math.nan, None]
    clips = [_clip(i, motion_score=1.0, aesthetic=a) for i, a in enumerate(aesthetic)]
    config = OFF.model_copy(update={"aesthetic": LowCutConfig(min=1.5, drop_lowest=0.5)})
    removed = _run(config, clips)
    assert removed == {"c001": "filter:aesthetic_min", "c005": "filter:aesthetic_percentile",
                       "c000": "filter:aesthetic_percentile", "c008": "filter:aesthetic_percentile"}
    outcome = {o.name: o for o in decide(config, clips).outcomes}["aesthetic_percentile"]
    assert (outcome.status, outcome.judged, outcome.flagged, outcome.threshold) == ("applied", 8, 4, 4.0)
    assert outcome.note == "4 clip(s) without aesthetic not judged"


def test_a_signal_null_everywhere_skips_its_filters_and_says_why() -> None:
    clips = [_clip(i, motion_score=float(i)) for i in range(8)]  # aesthetic / CLIP / text never computed
    decision = decide(FilterConfig(), clips)
    status = {o.name: (o.status, o.note) for o in decision.outcomes}
    for key in ("aesthetic", "clip_similarity"):  # SVD publishes no absolute floor for these
        assert status[f"{key}_min"] == ("disabled", f"filter.{key}.min is null")
    for name in ("text_area_max", "aesthetic_percentile", "clip_similarity_percentile", "text_area_percentile"):
        signal = name.rsplit("_", 1)[0]
        assert status[name] == ("skipped", f"{signal} not computed (null on all 8 clips)")
    assert status["motion_percentile"] == ("applied", "")
    # motion_min (0.5) removes score 0.0; the 2 most static are 0.0 and 1.0 → only 1.0 left for the percentile
    assert decision.reasons == {"c000": "filter:motion_min", "c001": "filter:motion_percentile"}


@pytest.mark.parametrize("off", [LowCutConfig(min=None, drop_lowest=None), LowCutConfig(min=None, drop_lowest=0.0)])
def test_disabled_filters_remove_nothing(off: LowCutConfig) -> None:
    clips = [_clip(i, motion_score=0.01 * i, aesthetic=0.1 * i) for i in range(10)]
    config = OFF.model_copy(update={"motion": off, "aesthetic": off})
    assert _run(config, clips) == {}
    notes = {o.name: (o.status, o.note) for o in decide(config, clips).outcomes}
    zero = "0" if off.drop_lowest == 0 else "null"
    assert notes["motion_percentile"] == ("disabled", f"filter.motion.drop_lowest is {zero}")
    assert notes["text_area_percentile"] == ("disabled", "filter.text_area.drop_highest is null")
    assert {status for status, _ in notes.values()} == {"disabled"}


def test_first_filter_in_the_fixed_order_is_recorded() -> None:
    assert ORDER == ("motion_min", "aesthetic_min", "clip_similarity_min", "text_area_max",
                     "motion_percentile", "aesthetic_percentile", "clip_similarity_percentile", "text_area_percentile")
    assert [r.name for r in filter_rules(FilterConfig())] == list(ORDER)
    # c0: most static AND lowest aesthetic AND below the aesthetic floor → the absolute floor wins
    # c1: most static AND most text → motion_percentile (motion before text)
    # c2: lowest CLIP similarity AND most text → clip_similarity_percentile
    rows = [(0.1, 1.0, 0.9, 0.0), (0.2, 9.0, 0.9, 0.5), (5.0, 9.0, 0.1, 0.4), (5.0, 9.0, 0.9, 0.0)]
    clips = [_clip(i, motion_score=m, aesthetic=a, clip_similarity=s, text_area=t) for i, (m, a, s, t) in
             enumerate(rows)]
    config = FilterConfig(motion=LowCutConfig(drop_lowest=0.5), aesthetic=LowCutConfig(min=2.0, drop_lowest=0.25),
                          clip_similarity=LowCutConfig(drop_lowest=0.25), text_area=HighCutConfig(drop_highest=0.5))
    decision = decide(config, clips)
    assert decision.reasons == {"c000": "filter:aesthetic_min", "c001": "filter:motion_percentile",
                                "c002": "filter:clip_similarity_percentile"}
    counts = {o.name: (o.flagged, o.removed) for o in decision.outcomes if o.status == "applied"}
    assert counts == {"aesthetic_min": (1, 1), "motion_percentile": (2, 1), "aesthetic_percentile": (1, 0),
                      "clip_similarity_percentile": (1, 1), "text_area_percentile": (2, 0)}


def test_svd_defaults_judge_every_filter_on_the_same_population() -> None:
    n = 40
    cols = {s: _distinct(n, seed=k) for k, s in enumerate(("motion_score", "aesthetic", "clip_similarity"))}
    cols["motion_score"] = [1.0 + v for v in cols["motion_score"]]  # above motion_min
    cols["text_area"] = [v / 4 for v in _distinct(n, seed=9)]  # 0 .. 0.0975: some above text_area_max (0.07)
    clips = [_clip(i, **{s: v[i] for s, v in cols.items()}) for i in range(n)]
    decision = decide(FilterConfig(), clips)
    out = {o.name: o for o in decision.outcomes}
    for name, signal, fraction, high in [("motion_percentile", "motion_score", 0.25, False),
                                         ("aesthetic_percentile", "aesthetic", 0.25, False),
                                         ("clip_similarity_percentile", "clip_similarity", 0.5, False),
                                         ("text_area_percentile", "text_area", 0.25, True)]:
        k = math.floor(fraction * n)
        assert out[name].judged == n and out[name].flagged == k
        assert out[name].threshold == sorted(cols[signal], reverse=high)[k - 1]  # the effective cut value
    over_max = sum(v > 0.07 for v in cols["text_area"])
    assert out["text_area_max"].flagged == over_max > 0
    # every clip records the first filter (in ORDER) that flags it on its own
    for clip in clips:
        flags = [o.reason for o in decision.outcomes if o.status == "applied" and _flagged_alone(o, clip)]
        assert decision.reasons.get(clip.clip_id) == (flags[0] if flags else None), clip.clip_id
    assert sum(o.removed for o in decision.outcomes) == len(decision.reasons)


def _flagged_alone(outcome: FilterOutcome, clip: ClipItem) -> bool:
    """Whether a filter with this (effective) threshold flags ``clip``, for distinct values."""
    value, cut = getattr(clip, outcome.signal), outcome.threshold
    assert cut is not None
    if outcome.kind == "min":
        return bool(value < cut)
    if outcome.kind == "max":
        return bool(value > cut)
    return bool(value >= cut) if outcome.removes == "high" else bool(value <= cut)


@pytest.mark.parametrize(("key", "high"), [("motion", False), ("text_area", True)])
def test_a_percentile_never_splits_equal_values(key: str, high: bool) -> None:
    signal = "motion_score" if key == "motion" else key
    clips = [_clip(i, **{signal: 1.0}) for i in range(4)] + [_clip(4, **{signal: 2.0 if high else 0.0})]
    cut = HighCutConfig(drop_highest=0.5) if high else LowCutConfig(drop_lowest=0.5)
    # floor(0.5 * 5) = 2 would cut between equal values: the tied clips are all kept
    assert sorted(_run(OFF.model_copy(update={key: cut}), clips)) == ["c004"]


def test_text_free_clips_survive_the_text_percentile() -> None:
    clips = [_clip(i, text_area=0.0) for i in range(16)] + [_clip(16 + i, text_area=0.05 * (i + 1)) for i in range(4)]
    removed = _run(OFF.model_copy(update={"text_area": HighCutConfig(drop_highest=0.25)}), clips)
    assert sorted(removed) == ["c016", "c017", "c018", "c019"]  # only the clips with text


def test_the_whole_dataset_decides_regardless_of_input_order() -> None:
    rng = random.Random(3)
    rows = [(rng.choice([0.2, 1.0, 2.0, 3.0]) + rng.random(), rng.choice([None, 4.0, 5.0, 6.0]), rng.random(),
             rng.choice([0.0, 0.01, 0.02, 0.03]) + rng.random() / 100)
            for _ in range(60)]

    def removed(order: list[int]) -> dict[str, str]:
        clips = [_clip(i, motion_score=rows[i][0], aesthetic=rows[i][1], clip_similarity=rows[i][2],
                       text_area=rows[i][3]) for i in order]
        return _run(FilterConfig(), clips)

    forward = removed(list(range(60)))
    assert len(forward) > 30 and len(set(forward.values())) >= 4
    for seed in range(3):
        order = list(range(60))
        random.Random(seed).shuffle(order)
        assert removed(order) == forward
    # per-shard filtering would not be the same: the stage must see the dataset at once
    shards = {**removed(list(range(30))), **removed(list(range(30, 60)))}
    assert shards != forward
    assert FilterStage.whole_dataset


class _Later(Stage):
    """A stage after the filter (its removals were judged by the filter)."""

    name = "later"
    requires = frozenset({"clip_id"})
    populates = frozenset({"uri"})
    resources = Resources()
    consumes = ClipItem

    def process(self, batch: list[Item]) -> list[Item]:
        return batch


def test_run_report_recomputes_the_population_that_reached_the_filter() -> None:
    config = FilterConfig()
    stages = [ProbeStage(), FilterStage(config), _Later()]
    clips = [_clip(i, motion_score=float(i % 7) + i / 100) for i in range(20)]
    clips[3].quarantine("probe:unreadable")  # removed before the filter: not in its population
    clips[5].filter_out("probe:too_small")
    FilterStage(config).process(list[Item]([c for c in clips if c.kept]))
    survivor = next(c for c in clips if c.kept)
    survivor.quarantine("later:failed")  # removed after the filter: it was judged
    report = run_report(stages, clips)
    assert report is not None and report["clips"] == 18 and report["order"] == [f"filter:{n}" for n in ORDER]
    removed = {f["reason"]: f["removed"] for f in report["filters"]}
    for reason in report["order"]:
        assert removed[reason] == sum(c.reason == reason for c in clips), reason
    assert removed["filter:motion_percentile"] > 0 and removed["filter:motion_min"] > 0
    assert run_report([ProbeStage()], clips) is None


def test_describe_lists_the_enabled_filters_in_order() -> None:
    text = FilterStage(FilterConfig()).describe()
    assert "[whole dataset]" in text
    assert text.endswith("filters: motion_min (motion_score < 0.5), text_area_max (text_area > 0.07), "
                         "motion_percentile (lowest 25% of motion_score), "
                         "aesthetic_percentile (lowest 25% of aesthetic), "
                         "clip_similarity_percentile (lowest 50% of clip_similarity), "
                         "text_area_percentile (highest 25% of text_area)")
    assert FilterStage(OFF).describe().endswith("filters: none")
