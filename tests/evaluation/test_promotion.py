"""Register, review and promote as the pipeline's identity, under the registry's rules."""

import json
from typing import Any

import pytest

from evaluation.config import PromotionConfig
from evaluation.promotion import promote, record_approval_skipped, record_review, register_candidate, review_state
from services.registry.errors import RuleViolation, Unauthenticated
from services.registry.store import RegistryStore
from tests.support.registry import Identities
from vidforge.settings import Settings
from vidforge.store import open_store


def _record(settings: Settings, run_id: str, passed: bool, champion: int | None = None) -> dict[str, Any]:
    store = open_store(settings.store)
    return {
        "run_id": run_id, "stage": "stage3_finetune", "checkpoint_uri": store.uri(f"runs/{run_id}/final"),
        "sha256": "a" * 64, "dataset_name": "tiny", "dataset_version": "v1", "metrics": {"heldout_loss": 0.5},
        "champion_version": champion, "stages": ["stage3_finetune"],
        "gate": {"passed": passed, "checks": [{"rule": "heldout_loss <= 10", "metric": "heldout_loss",
                                               "value": 0.5, "limit": 10.0, "passed": passed}]},
        "report_uri": store.uri(f"evaluations/{run_id}/report.html"),
    }


def test_register_review_promote_as_two_identities(settings: Settings, identities: Identities) -> None:
    cfg = PromotionConfig()
    reg_out = register_candidate(settings, _record(settings, "r1", True), cfg, dag_run_id="manual__1")
    reg = RegistryStore.from_settings(settings)
    name = settings.registry.model_name
    mv = reg.get_version(name, 1)
    assert reg.get_version_by_alias(name, "candidate").version == reg_out["model_version"] == 1
    assert (mv.created_by, mv.gate_passed, mv.dag_run_id) == ("pipeline", True, "manual__1")
    assert mv.gate_checks[0]["metric"] == "heldout_loss" and mv.dataset_uri.endswith("datasets/tiny/v1")
    assert review_state(settings, reg_out)[0] == "pending"
    with pytest.raises(RuleViolation, match="no approval by an identity other than its registrant 'pipeline'"):
        promote(settings, reg_out, cfg)
    reg.add_approval(name, 1, identities.approver_principal, "approved", "looks good")
    assert review_state(settings, reg_out) == ("approved", f"{name} v1 approved by alice: looks good")
    out = promote(settings, reg_out, cfg)
    assert out["promoted"] and out["promoted_by"] == "pipeline"
    assert reg.get_version_by_alias(name, "production").version == 1
    moves = [(e.actor, e.details["alias"]) for e in reg.audit_log(name) if e.action == "set_alias"]
    assert moves == [("pipeline", "production"), ("pipeline", "candidate")]  # newest first
    assert [(e.actor, e.action) for e in reg.audit_log(name) if e.action == "add_approval"] == [
        ("alice", "add_approval")]
    stored = json.loads(open_store(settings.store).get_bytes("evaluations/r1/promotion.json"))
    assert stored["promoted"] and stored["alias"] == "production"
    assert reg.verify_audit().ok


def test_registering_a_run_twice_returns_the_same_version(settings: Settings) -> None:
    cfg = PromotionConfig()
    first = register_candidate(settings, _record(settings, "r1", True), cfg)
    again = register_candidate(settings, _record(settings, "r1", True), cfg)
    assert first["model_version"] == again["model_version"] == 1
    assert len(RegistryStore.from_settings(settings).list_versions(settings.registry.model_name)) == 1


def test_failed_gate_is_registered_but_never_promoted(settings: Settings, identities: Identities) -> None:
    cfg = PromotionConfig()
    out = register_candidate(settings, _record(settings, "r2", False), cfg)
    reg = RegistryStore.from_settings(settings)
    reg.add_approval(settings.registry.model_name, out["model_version"], identities.approver_principal, "approved")
    with pytest.raises(RuleViolation, match="its evaluation gate failed"):
        promote(settings, out, cfg)
    assert reg.get_version(settings.registry.model_name, out["model_version"]).gate_passed is False


def test_a_rejection_is_reported_and_blocks_promotion(settings: Settings, identities: Identities) -> None:
    cfg = PromotionConfig()
    out = register_candidate(settings, _record(settings, "r3", True), cfg)
    reg = RegistryStore.from_settings(settings)
    reg.add_approval(settings.registry.model_name, 1, identities.approver_principal, "rejected", "flicker")
    assert review_state(settings, out) == ("rejected", f"{settings.registry.model_name} v1 rejected by alice: flicker")
    with pytest.raises(RuleViolation, match="latest review is a rejection by 'alice'"):
        promote(settings, out, cfg)


def test_no_configured_identity_is_refused(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDFORGE_REGISTRY__TOKEN", "")
    from vidforge.settings import get_settings

    with pytest.raises(Unauthenticated, match="VIDFORGE_REGISTRY__TOKEN is empty"):
        register_candidate(get_settings(), _record(settings, "r4", True), PromotionConfig())
    monkeypatch.setenv("VIDFORGE_REGISTRY__TOKEN", "vf_not-a-real-token")
    with pytest.raises(Unauthenticated, match="unknown or revoked"):
        register_candidate(get_settings(), _record(settings, "r4", True), PromotionConfig())


def _response(option: str, user: str = "bob") -> dict[str, Any]:
    """What the HITL approval step returns (``HITLTriggerEventSuccessPayload``)."""
    return {"chosen_options": [option], "params_input": {}, "responded_at": "2026-12-04T10:00:00+00:00",
            "responded_by_user": {"id": "7", "name": user}}


def test_hitl_approve_is_audited_and_promotion_waits_for_the_registry(
    settings: Settings, identities: Identities,
) -> None:
    cfg = PromotionConfig()
    out = register_candidate(settings, _record(settings, "r4", True), cfg)
    assert out["registry_page"].endswith(f"/models/{out['model']}/versions/{out['model_version']}")
    assert record_review(settings, out, _response("Approve")) == "approved"
    reg = RegistryStore.from_settings(settings)
    (event,) = [e for e in reg.audit_log(out["model"]) if e.action == "event:airflow_review"]
    assert event.actor == "pipeline" and event.details["responded_by"] == "bob"
    assert event.details["decision"] == "approved"
    # the Airflow answer is no registry approval: four eyes still needs an approver's own identity
    assert review_state(settings, out)[0] == "pending"
    with pytest.raises(RuleViolation):
        promote(settings, out, cfg)
    reg.add_approval(out["model"], out["model_version"], identities.approver_principal, "approved", "ok")
    assert review_state(settings, out)[0] == "approved"
    assert promote(settings, out, cfg)["promoted"]


def test_hitl_reject_is_audited_and_nothing_is_promoted(settings: Settings) -> None:
    out = register_candidate(settings, _record(settings, "r5", True), PromotionConfig())
    assert record_review(settings, out, _response("Reject", "carol")) == "rejected"
    reg = RegistryStore.from_settings(settings)
    events = [e.details for e in reg.audit_log(out["model"]) if e.action == "event:airflow_review"]
    assert [(d["decision"], d["responded_by"]) for d in events] == [("rejected", "carol")]
    with pytest.raises(Exception, match="production"):
        reg.get_version_by_alias(out["model"], "production")
    assert reg.verify_audit().ok


def test_skipped_approval_is_audited(settings: Settings) -> None:
    out = register_candidate(settings, _record(settings, "r6", True), PromotionConfig())
    record_approval_skipped(settings, out)
    reg = RegistryStore.from_settings(settings)
    (event,) = [e for e in reg.audit_log(out["model"]) if e.action == "event:approval_skipped"]
    assert event.details["reason"] == "promotion.require_approval is false" and event.actor == "pipeline"
