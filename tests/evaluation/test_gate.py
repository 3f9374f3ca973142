import json
import math

import pytest

from evaluation.config import AbsoluteRule, ChampionRule, GateConfig, load_eval_config
from evaluation.gate import apply_gate

CFG = GateConfig(
    absolute=(AbsoluteRule(metric="loss", op="<=", threshold=1.0),),
    versus_champion=(
        ChampionRule(metric="loss", lower_is_better=True, max_regression=0.1, relative=True),
        ChampionRule(metric="psnr", lower_is_better=False, max_regression=1.0, relative=False),
    ),
)


def test_first_model_only_needs_absolute_rules_and_champion_rules_are_recorded_as_skipped() -> None:
    result = apply_gate({"loss": 0.5, "psnr": 1.0}, None, CFG)
    assert result.passed and [c.status for c in result.checks] == ["pass", "skip", "skip"]
    assert result.checks[1].reason == "no champion yet"


def test_absolute_threshold_fails() -> None:
    result = apply_gate({"loss": 1.5, "psnr": 30.0}, None, CFG)
    assert not result.passed
    assert result.checks[0].value == 1.5 and not result.checks[0].passed and result.checks[0].status == "fail"


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_metrics_fail(bad: float) -> None:
    assert not apply_gate({"loss": bad}, None, CFG).passed


def test_missing_metric_fails_closed_or_is_skipped_by_policy() -> None:
    closed = apply_gate({}, None, CFG)
    assert not closed.passed and "not computed" in closed.checks[0].reason
    skip = GateConfig(absolute=(AbsoluteRule(metric="fvd", op="<=", threshold=300, on_missing="skip"),),
                      versus_champion=(ChampionRule(metric="fvd", lower_is_better=True, max_regression=0.1,
                                                    on_missing="skip"),
                                       ChampionRule(metric="clip", lower_is_better=False, max_regression=0.1)))
    result = apply_gate({"clip": 0.5}, {"clip": 0.5}, skip)
    assert [c.status for c in result.checks] == ["skip", "skip", "pass"] and result.passed
    # missing on the champion's side counts too, and is recorded rather than dropped
    one_sided = apply_gate({"clip": 0.5}, {}, skip)
    assert [c.status for c in one_sided.checks] == ["skip", "skip", "fail"]
    assert "champion" in one_sided.checks[2].reason


def test_relative_regression_limit() -> None:
    champ = {"loss": 0.5, "psnr": 20.0}
    ok = apply_gate({"loss": 0.549, "psnr": 19.5}, champ, CFG, champion_version=3)
    assert ok.passed and ok.champion_version == 3
    loss_check = next(c for c in ok.checks if c.champion is not None and c.metric == "loss")
    assert loss_check.limit == pytest.approx(0.55)
    bad = apply_gate({"loss": 0.56, "psnr": 19.5}, champ, CFG)
    assert not bad.passed


def test_absolute_db_regression_limit() -> None:
    champ = {"loss": 0.5, "psnr": 20.0}
    assert not apply_gate({"loss": 0.5, "psnr": 18.9}, champ, CFG).passed
    assert apply_gate({"loss": 0.5, "psnr": 19.1}, champ, CFG).passed


@pytest.mark.parametrize(("compare", "interval", "passed"), [
    ("ci_not_worse", (5.0, 30.0), True),      # point 20 worse than allowed 10, but not beyond doubt
    ("ci_not_worse", (12.0, 30.0), False),    # the whole interval beyond the allowed regression
    ("ci_non_inferior", (-5.0, 9.0), True),   # shown within the allowed regression
    ("ci_non_inferior", (-5.0, 11.0), False),
])
def test_interval_rules_compare_paired_intervals(compare: str, interval: tuple[float, float], passed: bool) -> None:
    cfg = GateConfig(versus_champion=(ChampionRule(metric="fvd", lower_is_better=True, max_regression=0.1,
                                                   compare=compare),))
    result = apply_gate({"fvd": 120.0}, {"fvd": 100.0}, cfg, paired={"fvd": interval})
    assert result.passed is passed and result.checks[0].interval == interval
    assert "regression interval" in result.checks[0].reason
    # higher-is-better: the regression is the negated difference
    hib = GateConfig(versus_champion=(ChampionRule(metric="clip", lower_is_better=False, max_regression=0.02,
                                                   relative=False, compare="ci_not_worse"),))
    assert not apply_gate({"clip": 0.7}, {"clip": 0.8}, hib, paired={"clip": (-0.15, -0.05)}).passed
    assert apply_gate({"clip": 0.7}, {"clip": 0.8}, hib, paired={"clip": (-0.15, 0.01)}).passed
    # no interval → on_missing (fail closed by default)
    assert not apply_gate({"fvd": 120.0}, {"fvd": 100.0}, cfg).passed


def test_to_dict_is_json_ready() -> None:
    d = apply_gate({"loss": 0.5}, {"loss": 0.5}, CFG).to_dict()
    back = json.loads(json.dumps(d))["checks"]
    assert back[0]["metric"] == "loss" and {c["status"] for c in back} <= {"pass", "fail", "skip"}


def test_default_config_loads_with_rules() -> None:
    cfg = load_eval_config()
    assert cfg.gate.absolute and cfg.gate.versus_champion
    assert cfg.final_stage == cfg.stages[-1]
    assert {r.metric for r in cfg.gate.versus_champion if r.on_missing == "skip"} >= {"fvd", "fid", "clip_image"}
