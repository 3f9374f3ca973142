from collections.abc import Callable

import pytest

from evaluation.config import load_eval_config
from evaluation.promotion import promote, register_candidate
from evaluation.run import evaluate_run
from services.registry.store import RegistryStore
from tests.support.registry import Identities
from vidforge.settings import Settings
from vidforge.store import LocalStore

#: small and fast: 2 σ, 2 steps, one image for motion faithfulness, few bootstrap resamples
CFG = load_eval_config(overrides={
    "sigmas": [0.5, 2.0], "generation": {"num_inference_steps": 2},
    "metrics": {"motion_images": 1, "motion_buckets": [10, 255], "n_boot": 20,
                "intervals": ["heldout_loss", "ssim", "flow_warp_error"]},
})
N_CHECKS = len(CFG.gate.absolute) + len(CFG.gate.versus_champion)


@pytest.mark.slow  # a tiny generation per sample and bucket on the shared CPUs
def test_first_run_is_gated_on_absolute_rules_on_its_own_holdout_set_and_reported(
    settings: Settings, make_run: Callable, local_store: LocalStore
) -> None:
    make_run("run-a", seed=0)
    record = evaluate_run(settings, "run-a", CFG)
    assert record["champion"] is None and record["champion_version"] is None
    assert record["metrics"]["eval_samples"] >= 1
    assert record["evalset"]["ref"] == "tiny-holdout/v1" and len(record["evalset"]["sha256"]) == 64
    assert local_store.exists("evalsets/tiny-holdout/v1/evalset.json")
    checks = record["gate"]["checks"]
    assert len(checks) == N_CHECKS
    assert all(c["status"] == "skip" and c["reason"] == "no champion yet" for c in checks[len(CFG.gate.absolute):])
    assert [c["metric"] for c in checks if c["status"] != "skip"] == ["heldout_loss", "first_frame_psnr"]
    assert {"fvd", "fid", "lpips", "clip_image"} <= set(record["not_computed"])
    html = local_store.get_bytes("evaluations/run-a/report.html").decode()
    assert "run-a" in html and "tiny-holdout/v1" in html and "data:image/webp;base64," in html
    assert local_store.exists("runs/run-a/stage3_finetune/report.html")
    assert local_store.exists("evaluations/run-a/eval.json")


@pytest.mark.slow  # two models scored
def test_second_run_is_compared_with_the_promoted_champion_on_the_same_set(
    settings: Settings, identities: Identities, make_run: Callable, local_store: LocalStore
) -> None:
    make_run("run-a", seed=0)
    first = register_candidate(settings, evaluate_run(settings, "run-a", CFG), CFG.promotion)
    reg = RegistryStore.from_settings(settings)
    reg.add_approval(settings.registry.model_name, first["model_version"], identities.approver_principal, "approved")
    promote(settings, first, CFG.promotion)
    make_run("run-b", seed=1)
    record = evaluate_run(settings, "run-b", CFG)
    assert record["champion_version"] == 1 and record["champion_dataset"] == "tiny/v1"
    assert set(record["champion"]) == set(record["metrics"])
    assert record["champion"]["eval_samples"] == record["metrics"]["eval_samples"]  # same set
    assert record["champion"]["heldout_loss"] != record["metrics"]["heldout_loss"]
    assert set(record["paired"]) == {"heldout_loss", "ssim", "flow_warp_error"}
    checks = record["gate"]["checks"]
    assert len(checks) == N_CHECKS
    fwe = next(c for c in checks if c["metric"] == "flow_warp_error")
    assert fwe["status"] in ("pass", "fail") and "regression interval" in fwe["reason"]
    assert [c["status"] for c in checks if c["metric"] == "fvd"] == ["skip"]
    second = register_candidate(settings, record, CFG.promotion)
    mv = reg.get_version(settings.registry.model_name, second["model_version"])
    assert mv.parent_version == 1 and mv.run_id == "run-b" and mv.dataset_version == "tiny/v1"
    assert mv.gate_passed == record["gate"]["passed"] and len(mv.gate_checks) == N_CHECKS


def test_evaluating_a_missing_run_fails_clearly(settings: Settings) -> None:
    with pytest.raises(FileNotFoundError, match="no result"):
        evaluate_run(settings, "nope", load_eval_config())
