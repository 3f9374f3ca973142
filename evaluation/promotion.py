"""Register an evaluated run as a model version, wait for its review, and promote it — as the pipeline.

Every call acts as the identity of the configured registry token
(``VIDFORGE_REGISTRY__TOKEN``) and meets the registry's own rules: the version
is registered once per training run (a rerun returns the same version), the
``candidate`` alias moves by compare-and-set, and ``production`` (protected by
default) only moves to a version whose gate passed and that someone other than
the pipeline approved. The pipeline's token therefore needs the ``approver``
role to promote; four eyes keeps it from approving what it registered.
"""

from __future__ import annotations

import json
from typing import Any

from evaluation.config import PromotionConfig
from vidforge.logging import get_logger
from vidforge.settings import Settings
from vidforge.store import open_store
from vidforge.version import code_version

log = get_logger(__name__)


def _registry(settings: Settings) -> tuple[Any, Any]:
    """The registry store and the pipeline's principal (raises Unauthenticated when no token is configured)."""
    from services.registry.store import RegistryStore
    from services.registry.tokens import principal_from

    store = RegistryStore.from_settings(settings)
    who = principal_from(store, settings.registry.token.get_secret_value(), "VIDFORGE_REGISTRY__TOKEN")
    return store, who


def _move(store: Any, who: Any, name: str, alias: str, version: int) -> None:
    """Compare-and-set ``alias`` to ``version`` from where it points now (no-op when already there)."""
    from services.registry.errors import NotFound

    try:
        current: int | None = store.get_version_by_alias(name, alias).version
    except NotFound:
        current = None
    if current != version:
        store.set_alias(name, alias, version, who, expected_version=current)


def register_candidate(
    settings: Settings, record: dict[str, Any], config: PromotionConfig, dag_run_id: str = ""
) -> dict[str, Any]:
    """Register an ``eval.json`` record as a version (idempotent per run) and point ``candidate`` at it.

    Lineage: dataset version and URI, run id, Airflow DAG run id, code version,
    the checkpoint's sha256, the gate's result and checks, the report's URI, and
    as parent the champion it was gated against (the version it would replace).
    """
    reg, who = _registry(settings)
    name = settings.registry.model_name
    store = open_store(settings.store)
    dataset = f"{record['dataset_name']}/{record['dataset_version']}"
    passed = bool(record["gate"]["passed"])
    mv, created = reg.register_version(
        name, who, artifact_uri=record["checkpoint_uri"], sha256=record["sha256"],
        metrics={k: float(v) for k, v in record["metrics"].items()}, gate_passed=passed,
        gate_checks=record["gate"]["checks"], report_uri=record.get("report_uri", ""),
        dataset_version=dataset, dataset_uri=store.uri(f"datasets/{dataset}"), code_version=code_version(),
        run_id=record["run_id"], dag_run_id=dag_run_id, parent_version=record.get("champion_version"),
        description=f"run {record['run_id']} ({record['stage']}); gate {'passed' if passed else 'failed'}",
    )
    _move(reg, who, name, config.candidate_alias, mv.version)
    out = {
        "model": name, "model_version": mv.version, "alias": config.candidate_alias, "promoted": False,
        "run_id": record["run_id"], "gate": record["gate"], "metrics": record["metrics"],
        "report_uri": record.get("report_uri", ""), "stages": record["stages"], "registered_by": who.name,
        "registry_page": f"{settings.registry.url.rstrip('/')}/models/{name}/versions/{mv.version}",
    }
    _write(settings, out)
    log.info("registered", model=name, version=mv.version, created=created, gate_passed=passed)
    return out


def review_state(settings: Settings, registered: dict[str, Any]) -> tuple[str, str]:
    """``("approved" | "rejected" | "pending", detail)`` for the registered version's latest review.

    Only reviews by someone other than the registrant count (four eyes).
    """
    reg, _ = _registry(settings)
    name, version = registered["model"], int(registered["model_version"])
    registrant = reg.get_version(name, version).created_by
    reviews = [a for a in reg.list_approvals(name, version) if a.approver != registrant]
    if not reviews:
        return "pending", f"{name} v{version} awaits an approver's decision"
    last = reviews[-1]
    return last.decision, f"{name} v{version} {last.decision} by {last.approver}: {last.comment}"


def record_review(settings: Settings, registered: dict[str, Any], response: dict[str, Any]) -> str:
    """Record an Airflow human-in-the-loop response in the registry's audit log; the Airflow decision.

    The response (``chosen_options``, ``responded_by_user``) becomes an ``airflow_review``
    event written as the pipeline — an audit record of what the Airflow user chose, not a
    registry approval: only an approver's own token approves a version (four eyes).

    Returns:
        ``"approved"`` or ``"rejected"`` (what the Airflow user chose).
    """
    reg, who = _registry(settings)
    chosen = [str(o) for o in response.get("chosen_options") or []]
    decision = "approved" if chosen == ["Approve"] else "rejected"
    user = response.get("responded_by_user") or {}
    responder = str(user.get("name") or user.get("id") or "unknown") if isinstance(user, dict) else str(user)
    reg.record_event("airflow_review", who, {
        "version": registered["model_version"], "run_id": registered["run_id"], "decision": decision,
        "responded_by": responder, "responded_at": response.get("responded_at", ""),
    }, name=registered["model"])
    log.info("airflow review recorded", model=registered["model"], version=registered["model_version"],
             decision=decision, responded_by=responder)
    return decision


def record_approval_skipped(settings: Settings, registered: dict[str, Any]) -> None:
    """Record in the audit log that this deployment promotes without an approval step (config says so)."""
    reg, who = _registry(settings)
    reg.record_event("approval_skipped", who, {
        "version": registered["model_version"], "run_id": registered["run_id"],
        "reason": "promotion.require_approval is false",
    }, name=registered["model"])


def promote(settings: Settings, registered: dict[str, Any], config: PromotionConfig) -> dict[str, Any]:
    """Move ``config.alias`` (production) to the registered version, under the registry's rules.

    Raises:
        services.registry.errors.RuleViolation: the gate failed, or the alias is protected and the
            version lacks an approval by someone other than its registrant (the message names it).
        services.registry.errors.Forbidden: the pipeline's token may not move that alias.
    """
    reg, who = _registry(settings)
    name, version = registered["model"], int(registered["model_version"])
    _move(reg, who, name, config.alias, version)
    out = {**registered, "alias": config.alias, "promoted": True, "promoted_by": who.name}
    _write(settings, out)
    log.info("promoted", model=name, version=version, alias=config.alias)
    return out


def _write(settings: Settings, out: dict[str, Any]) -> None:
    store = open_store(settings.store)
    store.put_bytes(f"evaluations/{out['run_id']}/promotion.json", json.dumps(out, indent=2).encode())
