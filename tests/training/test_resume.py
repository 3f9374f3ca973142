"""Checkpoint markers, RNG state and exact resume of a SIGKILLed training process."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from tests.support.tiny_dataset import DATASET, VERSION, publish_tiny_dataset
from training.checkpoint import (
    MARKER,
    WEIGHTS,
    load_state,
    rng_states,
    set_rng_states,
    training_state,
    upload_step,
    write_marker,
)
from training.config import StageConfig, load_stage_config
from training.result import read_result, run_prefix
from training.resume import ResumeConfigError, find_resume_point
from training.trainer import train_stage
from vidforge.settings import get_settings
from vidforge.store import LocalStore

REPO_ROOT = Path(__file__).resolve().parents[2]


def _cfg(**update: object) -> StageConfig:
    return load_stage_config("stage1_image", {"name": "s", "seed": 0, "steps": 10, **update})


def _step_dir(root: Path, step: int, stage: str = "s", seed: int = 0, cfg: StageConfig | None = None) -> Path:
    d = root / f"step-{step}"
    (d / "unet").mkdir(parents=True)
    (d / "unet" / "config.json").write_text("{}")
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(2))])
    config = (cfg or _cfg()).result_fields()
    torch.save(training_state(step, opt, None, stage, seed, data_position=4 * step, config=config), d / "state.pt")
    write_marker(d, step)
    return d


def test_rng_states_round_trip_through_weights_only(tmp_path: Path) -> None:
    torch.manual_seed(1), np.random.seed(2), random.seed(3)
    torch.save({"rng": rng_states()}, tmp_path / "s.pt")
    expected = (torch.rand(3), np.random.rand(3), [random.random() for _ in range(3)])
    torch.manual_seed(9), np.random.seed(9), random.seed(9)
    set_rng_states(torch.load(tmp_path / "s.pt", weights_only=True)["rng"])
    got = (torch.rand(3), np.random.rand(3), [random.random() for _ in range(3)])
    assert torch.equal(got[0], expected[0]) and np.array_equal(got[1], expected[1]) and got[2] == expected[2]


def test_resume_point_is_newest_complete_and_verified(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    cfg = load_stage_config("stage1_image", {"name": "s", "seed": 0, "steps": 10})
    prefix = "runs/r/s"
    assert find_resume_point(store, prefix, cfg, tmp_path) is None
    for step in (2, 4, 6):
        upload_step(store, _step_dir(tmp_path / "local", step), prefix, keep_last=5)
    marker = store.local_path(f"{prefix}/step-4/{MARKER}").read_text()
    assert '"unet/config.json"' in marker and '"state.pt"' in marker
    store.put_bytes(f"{prefix}/step-8/state.pt", b"half-written")  # no marker: ignored
    store.put_bytes(f"{prefix}/step-6/unet/config.json", b"{corrupt}")  # sha256 mismatch: skipped
    point = find_resume_point(store, prefix, cfg, tmp_path)
    assert point is not None and point.step == 4 and point.state["data_position"] == 16
    assert find_resume_point(store, prefix, cfg.model_copy(update={"seed": 5}), tmp_path) is None
    assert find_resume_point(store, prefix, cfg.model_copy(update={"resume": False}), tmp_path) is None
    assert not [p for p in store.local_path(prefix).iterdir() if p.name.endswith(".tmp")]


class _RemoteStore(LocalStore):
    """A LocalStore that hides its paths (like S3) and records the order of uploads."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.puts: list[str] = []

    def local_path(self, key: str) -> None:  # type: ignore[override]
        return None

    def put_file(self, src: str | Path, key: str) -> str:
        self.puts.append(key)
        return super().put_file(src, key)


def test_object_store_gets_the_marker_last_and_resume_downloads(tmp_path: Path) -> None:
    store = _RemoteStore(tmp_path / "store")
    cfg = load_stage_config("stage1_image", {"name": "s", "seed": 0, "steps": 10})
    upload_step(store, _step_dir(tmp_path / "local", 3), "runs/r/s", keep_last=2)
    assert store.puts[-1] == f"runs/r/s/step-3/{MARKER}" and len(store.puts) == 3
    point = find_resume_point(store, "runs/r/s", cfg, tmp_path / "work")
    assert point is not None and point.step == 3 and point.path.is_relative_to(tmp_path / "work")


@pytest.mark.parametrize("change", [{"lr": 3e-4}, {"p_mean": 0.0}, {"batch_size": 8}, {"height": 64},
                                    {"phases": [{"name": "a", "steps": 2}, {"name": "b", "p_mean": 0.5}]}])
def test_a_changed_config_refuses_to_resume_unless_forced(tmp_path: Path, change: dict) -> None:
    store = LocalStore(tmp_path / "store")
    upload_step(store, _step_dir(tmp_path / "local", 3), "runs/r/s", keep_last=2)
    key = next(iter(change))
    with pytest.raises(ResumeConfigError, match=f"{key}: .* -> .*force_resume"):
        find_resume_point(store, "runs/r/s", _cfg(**change), tmp_path / "w")
    forced = find_resume_point(store, "runs/r/s", _cfg(**change, force_resume=True), tmp_path / "w")
    assert forced is not None and forced.step == 3
    same = find_resume_point(store, "runs/r/s", _cfg(steps=20, log_every=5, num_workers=2), tmp_path / "w")
    assert same is not None and same.step == 3  # a longer run with other bookkeeping resumes


def test_another_dataset_version_refuses_to_resume(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    upload_step(store, _step_dir(tmp_path / "local", 3), "runs/r/s", keep_last=2)
    current = {**_cfg().result_fields(), "dataset_version": "v2"}
    with pytest.raises(ResumeConfigError, match="dataset_version: None -> 'v2'"):
        find_resume_point(store, "runs/r/s", _cfg(), tmp_path / "w", current)


@pytest.mark.slow  # ~70 s on a shared 2-core machine
def test_phased_stage_checkpoints_each_phase_and_resumes_identically(tmp_path: Path) -> None:
    sets = {"steps": 4, "batch_size": 1, "checkpoint_every": 0, "keep_last": 5, "phases": [
        {"name": "low", "steps": 2, "lr": 1e-3}, {"name": "high", "height": 32, "width": 48, "p_mean": 0.0}]}
    stores = []
    for name, runs in (("ref", [4]), ("resumed", [2, 4])):
        store = LocalStore(tmp_path / name)
        publish_tiny_dataset(store)
        settings = get_settings(overrides={"home": str(tmp_path / f"h-{name}"), "store": {"uri": store.root_uri}})
        for steps in runs:
            train_stage(load_stage_config("stage2_video", {**sets, "steps": steps}), settings, "run-p",
                        DATASET, VERSION)
        stores.append(store)
    prefix = run_prefix("run-p", "stage2_video")
    ref, resumed = stores
    assert load_state(ref.local_path(f"{prefix}/step-2/state.pt"))["step"] == 2  # the end of phase "low"
    rows = [json.loads(x) for x in ref.get_bytes(f"{prefix}/metrics.jsonl").decode().splitlines()]
    assert [r["phase"] for r in rows] == ["low", "low", "high", "high"]
    assert [r["lr"] for r in rows] == pytest.approx([1e-3, 1e-3, 1e-4, 1e-4])
    final = json.loads(ref.get_bytes(f"{prefix}/final/vidforge.json"))
    assert (final["height"], final["width"]) == (32, 48)
    a, b = (load_file(s.local_path(f"{prefix}/step-4/unet/{WEIGHTS}")) for s in stores)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert read_result(ref, "run-p", "stage2_video").sha256 == read_result(resumed, "run-p", "stage2_video").sha256


def _weights(store: LocalStore, prefix: str, step: int) -> dict[str, dict[str, torch.Tensor]]:
    d = store.local_path(f"{prefix}/step-{step}")
    return {part: load_file(d / part / WEIGHTS) for part in ("unet", "ema")}


@pytest.mark.slow
def test_sigkilled_stage_resumes_bit_identical(tmp_path: Path) -> None:
    sets = {"steps": 4, "batch_size": 2, "checkpoint_every": 2, "keep_last": 3, "ema_decay": 0.5, "lr": 1e-3,
            "train_temporal": True}
    # reference: the same steps uninterrupted (in this process)
    ref_store = LocalStore(tmp_path / "ref")
    publish_tiny_dataset(ref_store)
    cfg = load_stage_config("stage1_image", sets)
    ref_settings = get_settings(overrides={"home": str(tmp_path / "h1"), "store": {"uri": ref_store.root_uri}})
    train_stage(cfg, ref_settings, "run-r", DATASET, VERSION)

    store = LocalStore(tmp_path / "store")
    publish_tiny_dataset(store)
    settings_file = tmp_path / "settings.yaml"
    settings_file.write_text(f"home: {tmp_path / 'h2'}\nstore:\n  uri: {store.root_uri}\n")
    cmd = [sys.executable, "-m", "training.main", "--stage", "stage1_image", "--run-id", "run-r",
           "--dataset", DATASET, "--dataset-version", VERSION, "--config", str(settings_file)]
    cmd += [arg for k, v in sets.items() for arg in ("--set", f"{k}={v}")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDFORGE_")}
    prefix = run_prefix("run-r", cfg.name)
    marker = store.local_path(f"{prefix}/step-2/{MARKER}")
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate()
    assert proc.returncode == -signal.SIGKILL, err.decode()[-2000:]
    assert marker.exists() and not store.exists(f"{prefix}/result.json")  # killed mid-stage

    resumed = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, timeout=240)
    assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]
    assert b"resuming" in resumed.stderr and b"step=2" in resumed.stderr

    got, want = _weights(store, prefix, 4), _weights(ref_store, prefix, 4)
    for part in ("unet", "ema"):
        assert got[part].keys() == want[part].keys()
        assert all(torch.equal(got[part][k], want[part][k]) for k in want[part]), part
    result, ref = read_result(store, "run-r", cfg.name), read_result(ref_store, "run-r", cfg.name)
    assert (result.first_loss, result.last_loss, result.sha256) == (ref.first_loss, ref.last_loss, ref.sha256)
    metrics = [line for line in store.get_bytes(f"{prefix}/metrics.jsonl").decode().splitlines() if line]
    assert len(metrics) == 4
    assert load_state(store.local_path(f"{prefix}/step-4/state.pt"))["data_position"] == 8


def test_longer_rerun_continues_with_scheduler_accumulation_and_bf16(store_copy: LocalStore, tmp_path: Path) -> None:
    settings = get_settings(overrides={"home": str(tmp_path / "h"), "store": {"uri": store_copy.root_uri}})
    sets = {"steps": 2, "batch_size": 1, "checkpoint_every": 1, "lr_warmup_steps": 3, "mixed_precision": "bf16",
            "gradient_accumulation_steps": 2, "optimizer": "adamw_fused", "ema_decay": 0.5}
    first = train_stage(load_stage_config("stage1_image", sets), settings, "run-m", DATASET, VERSION)
    prefix = run_prefix("run-m", "stage1_image")
    state = load_state(store_copy.local_path(f"{prefix}/step-2/state.pt"))
    assert state["scheduler"]["last_epoch"] == 2 and state["data_position"] == 4 and state["ema_step"] == 2

    again = train_stage(load_stage_config("stage1_image", {**sets, "steps": 3}), settings, "run-m", DATASET, VERSION)
    assert again.first_loss == first.first_loss and again.steps == 3
    rows = [json.loads(x) for x in store_copy.get_bytes(f"{prefix}/metrics.jsonl").decode().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3]
    assert [r["lr"] for r in rows] == pytest.approx([1e-4 / 3, 2e-4 / 3, 1e-4])
    assert all(r["peak_mem_mb"] > 0 and r["samples_per_s"] > 0 for r in rows)
