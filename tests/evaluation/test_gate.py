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


def test_first_model_only_needs_absolute_rules() -> None:
    result = apply_gate({"loss": 0.5, "psnr": 1.0}, None, CFG)
    assert result.passed and len(result.checks) == 1


def test_absolute_threshold_fails() -> None:
    result = apply_gate({"loss": 1.5, "psnr": 30.0}, None, CFG)
    assert not result.passed
    assert result.checks[0].value == 1.5 and not result.checks[0].passed


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_metrics_fail(bad: float) -> None:
    assert not apply_gate({"loss": bad}, None, CFG).passed


def test_missing_metric_fails() -> None:
    assert not apply_gate({}, None, CFG).passed


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


def test_to_dict_is_json_ready() -> None:
    import json

    d = apply_gate({"loss": 0.5}, {"loss": 0.5}, CFG).to_dict()
    assert json.loads(json.dumps(d))["checks"][0]["metric"] == "loss"


def test_default_config_loads_with_rules() -> None:
    cfg = load_eval_config()
    assert cfg.gate.absolute and cfg.gate.versus_champion
    assert cfg.final_stage == cfg.stages[-1]
