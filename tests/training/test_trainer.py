"""A short in-process stage run: checkpoints, metrics, final pipeline, result.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.support.tiny_dataset import DATASET, VERSION
from training.checkpoint import VIDFORGE_JSON_KEYS, list_steps, load_state
from training.config import load_stage_config
from training.freeze import is_temporal
from training.model import build_pipeline, load_model_config, load_pipeline
from training.result import read_result, run_prefix
from training.trainer import step_seed, train_stage
from vidforge.digest import sha256_tree
from vidforge.settings import Settings, get_settings
from vidforge.store import LocalStore


def _settings(store: LocalStore, tmp_path: Path) -> Settings:
    return get_settings(overrides={"home": str(tmp_path / "home"), "store": {"uri": store.root_uri}})


def test_stage1_run_writes_everything_and_freezes_temporal(store_copy: LocalStore, tmp_path: Path) -> None:
    cfg = load_stage_config("stage1_image", {"steps": 3, "batch_size": 2, "checkpoint_every": 1, "keep_last": 2})
    result = train_stage(cfg, _settings(store_copy, tmp_path), "run-t", DATASET, VERSION)

    prefix = run_prefix("run-t", cfg.name)
    assert read_result(store_copy, "run-t", cfg.name) == result
    assert result.steps == 3 and result.init_uri is None and result.dataset_version == VERSION
    assert all(torch.isfinite(torch.tensor(x)) for x in (result.first_loss, result.last_loss))
    # rotation keeps the newest two step folders; each has unet + state, no EMA in stage I
    assert list_steps(store_copy, prefix) == [2, 3]
    step3 = store_copy.local_path(f"{prefix}/step-3")
    assert (step3 / "unet" / "diffusion_pytorch_model.safetensors").is_file()
    assert not (step3 / "ema").exists()
    state = load_state(step3 / "state.pt")
    assert state["step"] == 3 and state["stage"] == cfg.name and state["optimizer"]["state"]
    torch.load(step3 / "state.pt", weights_only=True)

    rows = [json.loads(line) for line in store_copy.get_bytes(f"{prefix}/metrics.jsonl").decode().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3]
    assert all(r["loss"] > 0 and r["grad_norm"] > 0 and r["samples_per_s"] > 0 for r in rows)
    assert rows[0]["loss"] == pytest.approx(result.first_loss) and rows[0]["lr"] == cfg.lr

    final = store_copy.local_path(store_copy.key_of(result.checkpoint_uri))
    assert result.sha256 == sha256_tree(final)
    meta = json.loads((final / "vidforge.json").read_text())
    assert set(meta) == set(VIDFORGE_JSON_KEYS)
    assert (meta["num_frames"], meta["stage"], meta["run_id"], meta["fps"]) == (1, cfg.name, "run-t", 7)
    assert meta["motion_bucket_edges"]

    trained = load_pipeline(final).unet.state_dict()
    init = build_pipeline(load_model_config("tiny"), seed=cfg.seed).unet.state_dict()
    temporal = [n for n in init if is_temporal(n)]
    spatial = [n for n in init if not is_temporal(n)]
    assert temporal and all(torch.equal(trained[n], init[n]) for n in temporal)
    changed = sum(not torch.equal(trained[n], init[n]) for n in spatial)
    assert changed > 0.5 * len(spatial)


def test_stage3_keeps_ema_and_publishes_ema_weights(store_copy: LocalStore, tmp_path: Path) -> None:
    cfg = load_stage_config(
        "stage3_finetune", {"steps": 2, "width": 32, "checkpoint_every": 0, "ema_decay": 0.5, "lr": 1e-3}
    )
    result = train_stage(cfg, _settings(store_copy, tmp_path), "run-e", DATASET, VERSION)
    prefix = run_prefix("run-e", cfg.name)
    assert list_steps(store_copy, prefix) == [2]
    step = store_copy.local_path(f"{prefix}/step-2")
    ema = load_file(step / "ema" / "diffusion_pytorch_model.safetensors")
    raw = load_file(step / "unet" / "diffusion_pytorch_model.safetensors")
    final = load_file(store_copy.local_path(f"{prefix}/final/unet/diffusion_pytorch_model.safetensors"))
    assert all(torch.equal(final[k], ema[k]) for k in ema)
    assert any(not torch.equal(ema[k], raw[k]) for k in ema)
    assert load_state(step / "state.pt")["ema_step"] == 2
    assert result.last_loss is not None


def test_missing_dataset_fails_before_training(store_copy: LocalStore, tmp_path: Path) -> None:
    cfg = load_stage_config("stage1_image", {"steps": 1})
    with pytest.raises(FileNotFoundError, match="not published"):
        train_stage(cfg, _settings(store_copy, tmp_path), "run-x", DATASET, "v404")
    assert not store_copy.list("runs/run-x")


def test_step_seed_differs_per_step_and_seed() -> None:
    seeds = {step_seed(s, t) for s in range(3) for t in range(1, 50)}
    assert len(seeds) == 3 * 49


def test_init_from_a_public_svd_layout_directory(store_copy: LocalStore, tmp_path: Path) -> None:
    """``--init`` takes any directory in the public SVD diffusers layout (no vidforge.json needed)."""
    from training.model import save_pipeline

    public = tmp_path / "svd-like"
    save_pipeline(build_pipeline(load_model_config("tiny"), seed=123), public)
    assert (public / "model_index.json").is_file() and not (public / "vidforge.json").exists()
    init_uri = store_copy.put_dir(public, "weights/svd-like")
    cfg = load_stage_config("stage2_video", {"steps": 1, "batch_size": 1, "checkpoint_every": 1})
    result = train_stage(cfg, _settings(store_copy, tmp_path), "run-init", DATASET, VERSION, init_uri=init_uri)
    assert result.init_uri == init_uri and result.steps == 1
    start = load_pipeline(public).vae.state_dict()
    final = load_pipeline(store_copy.local_path(store_copy.key_of(result.checkpoint_uri))).vae.state_dict()
    assert all(torch.equal(start[k], final[k]) for k in start)  # the frozen VAE came from --init
