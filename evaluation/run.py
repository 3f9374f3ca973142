"""Evaluate a finished training run against the current champion, on one evaluation set.

Reads the run's final stage result, loads the evaluation set (``config.evalset``,
or the held-out set of the candidate's dataset, built on first use), refuses it
when it shares clips with what the candidate or the champion trained on, scores
both models on it with the same feature networks, applies the gate and writes
``eval.json`` plus an HTML report to the store: ``evaluations/<run_id>/`` and
next to the checkpoint (``runs/<run_id>/<stage>/report.html``).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluation.artifacts import fetch_pipeline_dir, model_meta
from evaluation.config import EvalConfig
from evaluation.evalset import EvalSet, EvalSetError, build_from_dataset, load_evalset, real_features, training_overlap
from evaluation.gate import GateResult, apply_gate
from evaluation.metrics.frechet import GaussianStats
from evaluation.scoring import ModelScore, Scorers, intervals, score
from vidforge.logging import get_logger
from vidforge.settings import Settings
from vidforge.store import ObjectStore, open_store

log = get_logger(__name__)


@dataclass(frozen=True)
class Champion:
    """The model currently behind the promotion alias."""

    version: int
    artifact_uri: str
    sha256: str
    dataset_version: str = ""


def eval_prefix(run_id: str) -> str:
    """Store prefix of a run's evaluation outputs."""
    return f"evaluations/{run_id}"


def current_champion(settings: Settings, alias: str) -> Champion | None:
    """The version behind ``alias`` in the registry, or None when nothing is promoted yet."""
    from services.registry.errors import NotFound
    from services.registry.store import RegistryStore
    from vidforge.uris import allowed_prefixes, check_storage_uri

    try:
        registry = RegistryStore.from_settings(settings, upgrade=True)
        mv = registry.get_version_by_alias(settings.registry.model_name, alias)
    except NotFound:
        return None
    check_storage_uri(mv.artifact_uri, allowed_prefixes(settings), "champion artifact_uri")  # fetched next
    return Champion(mv.version, mv.artifact_uri, mv.sha256, mv.dataset_version or "")


def load_scorers(settings: Settings, config: EvalConfig) -> Scorers:
    """The configured feature networks and CLIP (None where not configured)."""
    from evaluation.metrics.feature_net import load_feature_net

    m, dev, st = config.metrics, settings.serving.device, settings.store
    clip = None
    if m.clip_uri:
        from curation.models.clip_scorer import load_clip_scorer

        clip = load_clip_scorer(m.clip_uri, device=dev, settings=st)
    return Scorers(load_feature_net(m.i3d, dev, st), load_feature_net(m.inception, dev, st),
                   load_feature_net(m.lpips, dev, st), clip, m.clip_uri)


def resolve_evalset(settings: Settings, store: ObjectStore, result: Any, config: EvalConfig,
                    scorers: Scorers) -> EvalSet:
    """The configured evaluation set, or the candidate dataset's held-out set (built when missing)."""
    ref = config.evalset or f"{result.dataset_name}-holdout/{result.dataset_version}"
    if not config.evalset and not store.exists(f"evalsets/{ref}/evalset.json"):
        build_from_dataset(settings, ref, f"{result.dataset_name}/{result.dataset_version}", config,
                           {"fvd": scorers.i3d, "fid": scorers.inception})
    return load_evalset(store, ref, config.evalset_sha256)


def check_overlap(store: ObjectStore, evalset: EvalSet, datasets: dict[str, str], config: EvalConfig
                  ) -> dict[str, Any]:
    """Overlap of ``evalset`` with each model's training clips; raises EvalSetError on shared clips."""
    from training.config import load_stage_config

    fraction = load_stage_config(config.final_stage).holdout_fraction
    out = {}
    for who, dataset in datasets.items():
        if not dataset:
            continue
        overlap = training_overlap(store, evalset, dataset, fraction)
        if overlap["clips"]:
            raise EvalSetError(f"evaluation set {evalset.ref} shares {len(overlap['clips'])} clips with what the "
                               f"{who} trained on (dataset {dataset}): {overlap['clips'][:5]}")
        out[who] = overlap
    return out


def _real_stats(store: ObjectStore, evalset: EvalSet, scorers: Scorers) -> dict[str, str]:
    """Fill ``scorers.real`` from the set's stored statistics (computed now when the set lacks them)."""
    origin = {}
    for metric, net in (("fvd", scorers.i3d), ("fid", scorers.inception)):
        if net is None or (metric == "fvd" and len(evalset.samples) < 2):  # FVD fits one row per clip
            continue
        stats = evalset.real_stats(store, metric, net)
        origin[metric] = "stored in the evaluation set" if stats is not None else "computed at evaluation"
        scorers.real[metric] = stats or GaussianStats.of(real_features(evalset.samples, metric, net))
    return origin


def _score_dir(path: Path, evalset: EvalSet, scorers: Scorers, config: EvalConfig, device: str) -> ModelScore:
    from training.model import load_pipeline

    return score(load_pipeline(path, device=device), evalset.samples, scorers, config)


def evaluate_run(settings: Settings, run_id: str, config: EvalConfig) -> dict[str, Any]:
    """Score, gate and report a run; returns (and stores) the ``eval.json`` content."""
    from evaluation.report import render_report
    from training.result import read_result

    store = open_store(settings.store)
    result = read_result(store, run_id, config.final_stage)
    champion = current_champion(settings, config.promotion.alias)
    scorers = load_scorers(settings, config)
    evalset = resolve_evalset(settings, store, result, config, scorers)
    overlap = check_overlap(store, evalset, {"candidate": f"{result.dataset_name}/{result.dataset_version}",
                                             "champion": champion.dataset_version if champion else ""}, config)
    stats_origin = _real_stats(store, evalset, scorers)
    with tempfile.TemporaryDirectory(prefix="vf-eval-") as tmp:
        cand_dir = fetch_pipeline_dir(result.checkpoint_uri, Path(tmp) / "candidate", settings.store, result.sha256)
        model_meta(cand_dir)  # refuses a directory that is not a vidforge artefact
        log.info("evaluating", run_id=run_id, evalset=evalset.ref, champion=champion and champion.version)
        cand = _score_dir(cand_dir, evalset, scorers, config, settings.serving.device)
        champ = None
        if champion is not None:
            champ_dir = fetch_pipeline_dir(champion.artifact_uri, Path(tmp) / "champion", settings.store,
                                           champion.sha256)
            champ = _score_dir(champ_dir, evalset, scorers, config, settings.serving.device)
    c_iv, b_iv, d_iv = intervals(cand, champ, scorers, config)
    gate: GateResult = apply_gate(cand.metrics, champ.metrics if champ else None, config.gate,
                                  champion.version if champion else None,
                                  {k: (v.low, v.high) for k, v in d_iv.items()})
    record = {
        "run_id": run_id, "stage": result.stage, "checkpoint_uri": result.checkpoint_uri, "sha256": result.sha256,
        "dataset_name": result.dataset_name, "dataset_version": result.dataset_version,
        "evalset": {"ref": evalset.ref, "uri": evalset.uri, "sha256": evalset.sha256, "overlap": overlap},
        "metrics": cand.metrics, "champion": champ.metrics if champ else None,
        "champion_version": champion.version if champion else None,
        "champion_dataset": champion.dataset_version if champion else None,
        "not_computed": cand.not_computed, "per_sample": cand.per_sample,
        "intervals": {k: v.to_dict() for k, v in c_iv.items()},
        "champion_intervals": {k: v.to_dict() for k, v in b_iv.items()},
        "paired": {k: v.to_dict() for k, v in d_iv.items()},
        "motion": {"buckets": list(config.metrics.motion_buckets), "candidate": cand.motion,
                   "champion": champ.motion if champ else None},
        "metric_info": {"samples": len(evalset.samples), "seed": config.seed, "sigmas": list(config.sigmas),
                        "steps": config.generation.num_inference_steps, "networks": scorers.provenance(),
                        "real_stats": stats_origin, "n_boot": config.metrics.n_boot, "level": config.metrics.level},
        "gate": gate.to_dict(), "stages": list(config.stages),
    }
    html = render_report(store, record, evalset.samples, cand.videos, champ.videos if champ else None)
    prefix = eval_prefix(run_id)
    record["report_uri"] = store.put_bytes(f"{prefix}/report.html", html.encode())
    store.put_bytes(f"runs/{run_id}/{result.stage}/report.html", html.encode())
    store.put_bytes(f"{prefix}/eval.json", json.dumps(record, indent=2).encode())
    log.info("evaluated", run_id=run_id, passed=gate.passed, **{k: round(v, 4) for k, v in cand.metrics.items()})
    return record
