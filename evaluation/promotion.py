"""Register an evaluated run as a model version and move aliases (with audit)."""

from __future__ import annotations

import json
from typing import Any

from evaluation.config import PromotionConfig
from vidforge.logging import get_logger
from vidforge.settings import Settings
from vidforge.store import open_store
from vidforge.version import code_version

log = get_logger(__name__)
ACTOR = "vidforge-pipeline"


def _registry(settings: Settings) -> Any:
    from services.registry.store import RegistryStore

    return RegistryStore.open(settings.registry.db_url)


def register_candidate(settings: Settings, record: dict[str, Any], config: PromotionConfig) -> dict[str, Any]:
    """Create a model version for an ``eval.json`` record and point ``candidate`` at it.

    Lineage: dataset version, run id, code version, the checkpoint's sha256, and
    as parent the champion it was gated against (the version it would replace).
    """
    reg = _registry(settings)
    name = settings.registry.model_name
    metrics = {k: float(v) for k, v in record["metrics"].items()}
    metrics["gate_passed"] = 1.0 if record["gate"]["passed"] else 0.0
    verdict = "passed" if record["gate"]["passed"] else "failed"
    mv = reg.create_version(
        name, artifact_uri=record["checkpoint_uri"], sha256=record["sha256"], metrics=metrics,
        dataset_version=f"{record['dataset_name']}/{record['dataset_version']}", code_version=code_version(),
        run_id=record["run_id"], parent_version=record.get("champion_version"), created_by=ACTOR,
        description=f"run {record['run_id']} ({record['stage']}); gate {verdict}",
    )
    reg.set_alias(name, config.candidate_alias, mv.version, actor=ACTOR)
    out = {
        "model": name, "model_version": mv.version, "alias": config.candidate_alias, "promoted": False,
        "run_id": record["run_id"], "gate": record["gate"], "metrics": record["metrics"],
        "report_uri": record.get("report_uri", ""), "stages": record["stages"],
    }
    _write(settings, out)
    log.info("registered", model=name, version=mv.version, gate_passed=record["gate"]["passed"])
    return out


def promote(settings: Settings, registered: dict[str, Any], config: PromotionConfig) -> dict[str, Any]:
    """Move ``config.alias`` (production) to the registered version.

    With ``require_approval`` the version needs an ``approved`` decision first
    (``vidforge registry approve``); otherwise the passed gate is the approval.

    Raises:
        services.registry.errors.InvalidState: the gate failed, or approval is required and missing.
    """
    from services.registry.errors import InvalidState

    reg = _registry(settings)
    name, version = registered["model"], int(registered["model_version"])
    if not registered["gate"]["passed"]:
        raise InvalidState(f"{name} v{version} failed its gate and cannot be promoted")
    if config.require_approval:
        decisions = [a.decision for a in reg.list_approvals(name, version)]
        if "approved" not in decisions or "rejected" in decisions:
            raise InvalidState(f"{name} v{version} needs an approval before it moves to {config.alias}")
    else:
        reg.add_approval(name, version, ACTOR, "approved", "automatic: evaluation gate passed")
    reg.set_alias(name, config.alias, version, actor=ACTOR)
    out = {**registered, "alias": config.alias, "promoted": True}
    _write(settings, out)
    log.info("promoted", model=name, version=version, alias=config.alias)
    return out


def _write(settings: Settings, out: dict[str, Any]) -> None:
    store = open_store(settings.store)
    store.put_bytes(f"evaluations/{out['run_id']}/promotion.json", json.dumps(out, indent=2).encode())
