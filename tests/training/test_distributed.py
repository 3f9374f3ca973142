"""Data-parallel training: sharded sampling, optimizer fallbacks, two gloo ranks in lockstep."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from itertools import islice
from pathlib import Path

import pytest
import torch

from tests.support.tiny_dataset import DATASET, VERSION
from training.config import load_stage_config
from training.data import EpochSampler, ShardSampler
from training.distributed import make_optimizer, make_scheduler, peak_memory_mb, state_digest
from training.result import read_result, run_prefix
from vidforge.store import LocalStore

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("start", "world", "batch"), [(0, 2, 2), (12, 3, 2), (4, 1, 4)])
def test_shards_partition_the_single_process_stream(start: int, world: int, batch: int) -> None:
    n_items = 6 * world * batch
    stream = list(islice(EpochSampler(7, seed=3, start=start), n_items))
    shards = [list(islice(ShardSampler(7, 3, batch, r, world, start), n_items // world)) for r in range(world)]
    merged = [x for i in range(0, n_items // world, batch) for s in shards for x in s[i : i + batch]]
    assert merged == stream
    with pytest.raises(ValueError, match="multiple"):
        ShardSampler(7, 3, batch_size=2, rank=0, world_size=2, start=3)


def test_optimizer_variants_fall_back_to_adamw(caplog: pytest.LogCaptureFixture) -> None:
    params = [torch.nn.Parameter(torch.ones(3))]
    cfg = load_stage_config("stage1_image", {"optimizer": "adamw_8bit", "lr": 0.5, "lr_warmup_steps": 4})
    with caplog.at_level(logging.WARNING):
        opt = make_optimizer(cfg, params, torch.device("cpu"))
    assert type(opt) is torch.optim.AdamW and opt.param_groups[0]["lr"] == 0.5
    fused = make_optimizer(cfg.model_copy(update={"optimizer": "adamw_fused"}), params, torch.device("cpu"))
    assert isinstance(fused, torch.optim.AdamW)
    sched = make_scheduler(cfg, opt)
    assert sched is not None and opt.param_groups[0]["lr"] == pytest.approx(0.125)
    assert make_scheduler(load_stage_config("stage1_image"), opt) is None


def test_digest_and_peak_memory() -> None:
    a = {"w": torch.zeros(2, 2), "b": torch.tensor(1.0)}
    assert state_digest(a) == state_digest({k: v.clone() for k, v in a.items()})
    assert state_digest(a) != state_digest({**a, "b": torch.tensor(2.0)})
    assert peak_memory_mb(torch.device("cpu")) > 10


@pytest.mark.slow
def test_two_gloo_ranks_train_in_lockstep_on_disjoint_shards(store_copy: LocalStore, tmp_path: Path) -> None:
    settings_file = tmp_path / "settings.yaml"
    settings_file.write_text(f"home: {tmp_path / 'home'}\nstore:\n  uri: {store_copy.root_uri}\n")
    sets = {"steps": 2, "batch_size": 1, "checkpoint_every": 0, "ema_decay": 0.5,
            "gradient_accumulation_steps": 2, "gradient_checkpointing": True}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "training.main", "--stage", "stage1_image", "--run-id", "run-d", "--dataset", DATASET,
           "--dataset-version", VERSION, "--config", str(settings_file)]
    cmd += [arg for k, v in sets.items() for arg in ("--set", f"{k}={v}")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDFORGE_")}
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]

    prefix = run_prefix("run-d", "stage1_image")
    ranks = [json.loads(store_copy.get_bytes(f"{prefix}/ranks/rank-{r}.json")) for r in (0, 1)]
    assert [r["world_size"] for r in ranks] == [2, 2]
    assert ranks[0]["unet_sha256"] == ranks[1]["unet_sha256"]
    assert ranks[0]["ema_sha256"] == ranks[1]["ema_sha256"]
    # 2 steps × 2 micro-batches × 1 sample per rank; together the single-process stream's first 8 items
    seen0, seen1 = ranks[0]["positions"], ranks[1]["positions"]
    assert len(seen0) == len(seen1) == 4 and not set(seen0) & set(seen1)
    n_train = 5  # tiny/v1: 6 kept clips, 1 held out
    assert sorted(seen0 + seen1) == sorted(islice(EpochSampler(n_train, seed=0), 8))
    result = read_result(store_copy, "run-d", "stage1_image")
    assert result.steps == 2 and result.last_loss is not None
    rows = [json.loads(x) for x in store_copy.get_bytes(f"{prefix}/metrics.jsonl").decode().splitlines()]
    assert [r["step"] for r in rows] == [1, 2] and all(r["peak_mem_mb"] > 0 for r in rows)


def test_stages_of_different_precision_run_in_one_process() -> None:
    from training.distributed import make_accelerator

    model, x = torch.nn.Linear(4, 4), torch.ones(2, 4)
    outputs = []
    for stage, precision in (("stage1_image", "no"), ("stage2_video", "bf16"), ("stage3_finetune", "no")):
        accelerator = make_accelerator(load_stage_config(stage, {"mixed_precision": precision}))
        assert accelerator.mixed_precision == precision
        with accelerator.autocast():
            outputs.append(model(x).dtype)
    assert outputs == [torch.float32, torch.bfloat16, torch.float32]
