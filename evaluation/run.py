"""Evaluate a finished training run against the current champion.

Reads the run's final stage result, scores the candidate and (when there is
one) the model behind the ``production`` alias on the same held-out clips,
applies the gate and writes ``eval.json`` plus an HTML report to the store:
``evaluations/<run_id>/`` and next to the checkpoint (``runs/<run_id>/<stage>/report.html``).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluation.artifacts import fetch_pipeline_dir, model_meta
from evaluation.config import EvalConfig
from evaluation.gate import GateResult, apply_gate
from evaluation.metrics import HeldoutClip, score
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
    return Champion(mv.version, mv.artifact_uri, mv.sha256)


def heldout_clips(store: ObjectStore, settings: Settings, result: Any, config: EvalConfig) -> list[HeldoutClip]:
    """Up to ``max_clips`` held-out clips, split and sized exactly as the final stage trained.

    Raises:
        ValueError: the dataset has no held-out clips.
    """
    from training.config import load_stage_config
    from training.data import holdout_samples

    stage_cfg = load_stage_config(config.final_stage)
    samples = holdout_samples(store, stage_cfg, result.dataset_name, result.dataset_version, settings.store)
    if not samples:
        raise ValueError(f"dataset {result.dataset_name}/{result.dataset_version} has no held-out clips")
    return [
        HeldoutClip(s["clip_id"], s["frames"], float(s["fps"]), float(s["motion_bucket"]))
        for s in samples[: config.max_clips]
    ]


def _score_dir(path: Path, clips: list[HeldoutClip], config: EvalConfig, device: str) -> tuple[dict, list]:
    from training.model import load_pipeline

    pipe = load_pipeline(path, device=device)
    return score(pipe, clips, sigmas=config.sigmas, seed=config.seed,
                 steps=config.generation.num_inference_steps,
                 noise_aug_strength=config.generation.noise_aug_strength)


def evaluate_run(settings: Settings, run_id: str, config: EvalConfig) -> dict[str, Any]:
    """Score, gate and report a run; returns (and stores) the ``eval.json`` content."""
    from evaluation.report import render_report
    from training.result import read_result

    store = open_store(settings.store)
    result = read_result(store, run_id, config.final_stage)
    champion = current_champion(settings, config.promotion.alias)
    with tempfile.TemporaryDirectory(prefix="vf-eval-") as tmp:
        cand_dir = fetch_pipeline_dir(result.checkpoint_uri, Path(tmp) / "candidate", settings.store, result.sha256)
        model_meta(cand_dir)  # refuses a directory that is not a vidforge artefact
        clips = heldout_clips(store, settings, result, config)
        log.info("evaluating", run_id=run_id, clips=len(clips), champion=champion and champion.version)
        cand, cand_videos = _score_dir(cand_dir, clips, config, settings.serving.device)
        champ, champ_videos = None, None
        if champion is not None:
            champ_dir = fetch_pipeline_dir(champion.artifact_uri, Path(tmp) / "champion", settings.store,
                                           champion.sha256)
            champ, champ_videos = _score_dir(champ_dir, clips, config, settings.serving.device)
    gate: GateResult = apply_gate(cand, champ, config.gate, champion.version if champion else None)
    record = {
        "run_id": run_id, "stage": result.stage, "checkpoint_uri": result.checkpoint_uri, "sha256": result.sha256,
        "dataset_name": result.dataset_name, "dataset_version": result.dataset_version,
        "metrics": cand, "champion": champ, "champion_version": champion.version if champion else None,
        "gate": gate.to_dict(), "stages": list(config.stages),
    }
    html = render_report(store, record, clips, cand_videos, champ_videos)
    prefix = eval_prefix(run_id)
    record["report_uri"] = store.put_bytes(f"{prefix}/report.html", html.encode())
    store.put_bytes(f"runs/{run_id}/{result.stage}/report.html", html.encode())
    store.put_bytes(f"{prefix}/eval.json", json.dumps(record, indent=2).encode())
    log.info("evaluated", run_id=run_id, passed=gate.passed, **{k: round(v, 4) for k, v in cand.items()})
    return record
