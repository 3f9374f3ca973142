import json
from typing import Any

import pytest

from evaluation.config import PromotionConfig
from evaluation.promotion import promote, register_candidate
from services.registry.errors import InvalidState
from services.registry.store import RegistryStore
from vidforge.settings import Settings
from vidforge.store import open_store


def _record(run_id: str, passed: bool, champion: int | None = None) -> dict[str, Any]:
    return {
        "run_id": run_id, "stage": "stage3_finetune", "checkpoint_uri": f"file:///x/{run_id}", "sha256": "a" * 64,
        "dataset_name": "tiny", "dataset_version": "v1", "metrics": {"heldout_loss": 0.5},
        "champion_version": champion, "gate": {"passed": passed, "checks": []}, "stages": ["stage3_finetune"],
        "report_uri": "file:///r.html",
    }


def test_register_then_promote_moves_aliases_and_audits(settings: Settings) -> None:
    cfg = PromotionConfig()
    reg_out = register_candidate(settings, _record("r1", True), cfg)
    reg = RegistryStore.open(settings.registry.db_url)
    name = settings.registry.model_name
    assert reg.get_version_by_alias(name, "candidate").version == reg_out["model_version"] == 1
    out = promote(settings, reg_out, cfg)
    assert out["promoted"] and reg.get_version_by_alias(name, "production").version == 1
    assert [a.decision for a in reg.list_approvals(name, 1)] == ["approved"]
    moves = [e.details for e in reg.audit_log(name) if e.action == "set_alias"]
    assert [m["alias"] for m in moves] == ["production", "candidate"]  # newest first
    stored = json.loads(open_store(settings.store).get_bytes("evaluations/r1/promotion.json"))
    assert stored["promoted"] and stored["alias"] == "production"


def test_failed_gate_is_registered_but_never_promoted(settings: Settings) -> None:
    cfg = PromotionConfig()
    out = register_candidate(settings, _record("r2", False), cfg)
    with pytest.raises(InvalidState, match="failed its gate"):
        promote(settings, out, cfg)
    reg = RegistryStore.open(settings.registry.db_url)
    assert reg.get_version(settings.registry.model_name, out["model_version"]).metrics["gate_passed"] == 0.0


def test_required_approval_blocks_until_a_person_approves(settings: Settings) -> None:
    cfg = PromotionConfig(require_approval=True)
    out = register_candidate(settings, _record("r3", True), cfg)
    with pytest.raises(InvalidState, match="needs an approval"):
        promote(settings, out, cfg)
    reg = RegistryStore.open(settings.registry.db_url)
    reg.add_approval(settings.registry.model_name, out["model_version"], "alice", "approved", "looks good")
    assert promote(settings, out, cfg)["promoted"]
