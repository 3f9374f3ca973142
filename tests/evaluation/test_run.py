from collections.abc import Callable

import pytest

from evaluation.config import load_eval_config
from evaluation.promotion import promote, register_candidate
from evaluation.run import evaluate_run
from services.registry.store import RegistryStore
from tests.support.registry import Identities
from vidforge.settings import Settings
from vidforge.store import LocalStore


def test_first_run_is_gated_on_absolute_rules_and_reported(
    settings: Settings, make_run: Callable, local_store: LocalStore
) -> None:
    make_run("run-a", seed=0)
    record = evaluate_run(settings, "run-a", load_eval_config())
    assert record["champion"] is None and record["champion_version"] is None
    assert record["metrics"]["heldout_clips"] >= 1
    assert [c["metric"] for c in record["gate"]["checks"]] == ["heldout_loss", "first_frame_psnr"]
    html = local_store.get_bytes("evaluations/run-a/report.html").decode()
    assert "run-a" in html and "heldout_loss" in html and "data:image/png;base64," in html
    assert local_store.exists("runs/run-a/stage3_finetune/report.html")
    assert local_store.exists("evaluations/run-a/eval.json")


def test_second_run_is_compared_with_the_promoted_champion(
    settings: Settings, identities: Identities, make_run: Callable, local_store: LocalStore
) -> None:
    cfg = load_eval_config()
    make_run("run-a", seed=0)
    first = register_candidate(settings, evaluate_run(settings, "run-a", cfg), cfg.promotion)
    reg = RegistryStore.from_settings(settings)
    reg.add_approval(settings.registry.model_name, first["model_version"], identities.approver_principal, "approved")
    promote(settings, first, cfg.promotion)
    make_run("run-b", seed=1)
    record = evaluate_run(settings, "run-b", cfg)
    assert record["champion_version"] == 1
    assert set(record["champion"]) == set(record["metrics"])
    assert record["champion"]["heldout_clips"] == record["metrics"]["heldout_clips"]  # paired clips
    assert record["champion"]["heldout_loss"] != record["metrics"]["heldout_loss"]
    assert len(record["gate"]["checks"]) == 4
    second = register_candidate(settings, record, cfg.promotion)
    mv = reg.get_version(settings.registry.model_name, second["model_version"])
    assert mv.parent_version == 1 and mv.run_id == "run-b" and mv.dataset_version == "tiny/v1"
    assert mv.gate_passed == record["gate"]["passed"] and len(mv.gate_checks) == 4


def test_evaluating_a_missing_run_fails_clearly(settings: Settings) -> None:
    with pytest.raises(FileNotFoundError, match="no result"):
        evaluate_run(settings, "nope", load_eval_config())
