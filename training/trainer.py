"""The training loop of one stage: init → freeze → AdamW (+EMA) → checkpoints → final.

Everything random is a pure function of ``(cfg.seed, step)``: the batch order
(:class:`training.data.EpochSampler`), window starts, σ, noise, σ_aug and
dropout draws (a fresh generator per step). Work happens in a local temp
directory; checkpoints, ``metrics.jsonl``, ``final/`` and finally
``result.json`` are uploaded to the object store under ``runs/<run_id>/<stage>/``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from training import checkpoint, edm
from training.data import ClipDataset, FrameSpec, StageData, load_stage_data, make_loader
from training.ema import apply_ema, make_ema
from training.freeze import freeze, set_trainable
from training.model import build_pipeline, load_model_config, load_pipeline
from training.objective import denoising_loss
from training.result import StageResult, run_prefix, write_result
from vidforge.logging import get_logger
from vidforge.store import open_store, open_uri

if TYPE_CHECKING:
    from accelerate import Accelerator
    from diffusers import StableVideoDiffusionPipeline
    from diffusers.training_utils import EMAModel

    from training.config import StageConfig
    from vidforge.settings import Settings, StoreSettings
    from vidforge.store import ObjectStore

log = get_logger(__name__)


def step_seed(seed: int, step: int) -> int:
    """Seed of the random draws of optimizer step ``step`` (1-based) of a stage seeded ``seed``."""
    return (seed * 1_000_003 + step) % (1 << 63)


def init_pipeline(
    cfg: StageConfig, init_uri: str | None, store_settings: StoreSettings, tmp: Path
) -> StableVideoDiffusionPipeline:
    """The stage's starting pipeline: ``init_uri`` (a ``final/`` dir URI) or built from config.

    Raises:
        FileNotFoundError: ``init_uri`` holds no pipeline.
    """
    if not init_uri:
        return build_pipeline(load_model_config(cfg.model_config_name), seed=cfg.seed)
    store, key = open_uri(init_uri, store_settings)
    local = store.local_path(key)
    if local is None or not local.is_dir():
        local = store.get_dir(key, tmp / "init")
    return load_pipeline(local)


class MetricsLog:
    """``metrics.jsonl``: one JSON object per logged step, appended locally."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.write_text("")

    def write(self, row: dict[str, Any]) -> None:
        """Append one row."""
        with self.path.open("a") as f:
            f.write(json.dumps(row) + "\n")


class StageTrainer:
    """Runs one :class:`StageConfig` on a dataset version; ``run()`` returns the result."""

    def __init__(
        self,
        cfg: StageConfig,
        settings: Settings,
        run_id: str,
        dataset_name: str,
        dataset_version: str,
        init_uri: str | None = None,
    ) -> None:
        self.cfg = cfg
        self.settings = settings
        self.run_id = run_id
        self.dataset_name = dataset_name
        self.dataset_version = dataset_version
        self.init_uri = init_uri
        self.prefix = run_prefix(run_id, cfg.name)
        self.ema: EMAModel | None = None  # set up in _train
        self.optimizer: torch.optim.Optimizer | None = None

    def run(self, workdir: str | Path | None = None) -> StageResult:
        """Train, upload checkpoints and ``final/``, publish ``result.json`` last."""
        from accelerate import Accelerator

        started = time.monotonic()
        store = open_store(self.settings.store)
        store.delete(f"{self.prefix}/result.json")  # a stale result must not outlive a new attempt
        data = load_stage_data(store, self.cfg, self.dataset_name, self.dataset_version)
        log.info("stage start", stage=self.cfg.name, run_id=self.run_id, train_clips=len(data.train),
                 holdout_clips=len(data.holdout), init_uri=self.init_uri)
        with tempfile.TemporaryDirectory(prefix=f"vf-{self.cfg.name}-", dir=workdir) as tmp_name:
            tmp = Path(tmp_name)
            accelerator = Accelerator(cpu=not torch.cuda.is_available())
            pipe = init_pipeline(self.cfg, self.init_uri, self.settings.store, tmp)
            losses = self._train(accelerator, pipe, data, store, tmp)
            return self._finish(accelerator, pipe, data, store, tmp, losses, started)

    def _train(
        self,
        accelerator: Accelerator,
        pipe: StableVideoDiffusionPipeline,
        data: StageData,
        store: ObjectStore,
        tmp: Path,
    ) -> list[float]:
        """The optimisation loop; returns the batch-mean loss of every step."""
        cfg = self.cfg
        device = accelerator.device
        freeze(pipe.vae.to(device))
        freeze(pipe.image_encoder.to(device))
        pipe.unet.to(device)  # before the EMA copies its parameters: shadows live beside them
        params = set_trainable(pipe.unet, cfg.train_spatial, cfg.train_temporal)
        optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.ema = make_ema(pipe.unet, cfg.ema_decay)
        unet, optimizer = accelerator.prepare(pipe.unet, optimizer)
        self.optimizer = optimizer
        unet.train()
        dataset = ClipDataset(data.train, FrameSpec.of(cfg), cfg.seed, self.settings.store,
                              data.info.motion_bucket_edges)
        batches = iter(make_loader(dataset, cfg.batch_size, cfg.seed))
        metrics = MetricsLog(tmp / "metrics.jsonl")
        losses: list[float] = []
        t0 = time.monotonic()
        for step in range(1, cfg.steps + 1):
            tick = time.monotonic()
            row = self._step(accelerator, pipe, unet, optimizer, next(batches), step)
            losses.append(row["loss"])
            row.update(samples_per_s=cfg.batch_size / (time.monotonic() - tick),
                       elapsed_s=time.monotonic() - t0)
            if step % cfg.log_every == 0 or step == cfg.steps:
                metrics.write(row)
                log.info("step", stage=cfg.name, **row)
            if cfg.checkpoint_every and step % cfg.checkpoint_every == 0 and step < cfg.steps:
                self._checkpoint(accelerator, unet, optimizer, store, tmp, step)
        return losses

    def _step(
        self,
        accelerator: Accelerator,
        pipe: StableVideoDiffusionPipeline,
        unet: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        batch: dict[str, Any],
        step: int,
    ) -> dict[str, Any]:
        """One optimizer step on ``batch``; returns its metrics row."""
        cfg = self.cfg
        device = accelerator.device
        gen = torch.Generator(device=device).manual_seed(step_seed(cfg.seed, step))
        frames = batch["frames"].to(device)
        sigma = edm.sample_sigmas(frames.shape[0], cfg.p_mean, cfg.p_std, gen, device)
        loss = denoising_loss(
            pipe, frames, batch["fps"].to(device), batch["motion_bucket"].to(device), sigma,
            generator=gen, cond_dropout=cfg.cond_dropout,
            noise_aug_mean=cfg.noise_aug_mean, noise_aug_std=cfg.noise_aug_std,
        ).mean()
        if not torch.isfinite(loss):
            raise FloatingPointError(f"non-finite loss {loss.item()} at step {step} of {cfg.name}")
        optimizer.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        params = [p for p in unet.parameters() if p.requires_grad]
        grad_norm = accelerator.clip_grad_norm_(params, cfg.max_grad_norm or float("inf"))
        optimizer.step()
        if self.ema is not None:
            self.ema.step(accelerator.unwrap_model(unet).parameters())
        return {
            "step": step, "loss": float(loss.item()), "lr": optimizer.param_groups[0]["lr"],
            "grad_norm": float(grad_norm), "sigma_mean": float(sigma.mean()),
        }

    def _checkpoint(
        self,
        accelerator: Accelerator,
        unet: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        store: ObjectStore,
        tmp: Path,
        step: int,
    ) -> str:
        """Save ``step-<n>/`` locally, upload it with rotation, refresh ``metrics.jsonl``."""
        cfg = self.cfg
        state = checkpoint.training_state(step, optimizer, self.ema, cfg.name, cfg.seed)
        local = checkpoint.save_step(tmp / "steps", accelerator.unwrap_model(unet), self.ema, state)
        uri = checkpoint.upload_step(store, local, self.prefix, cfg.keep_last)
        store.put_file(tmp / "metrics.jsonl", f"{self.prefix}/metrics.jsonl")
        shutil.rmtree(local)
        log.info("checkpoint", stage=cfg.name, step=step, uri=uri)
        return uri

    def _finish(
        self,
        accelerator: Accelerator,
        pipe: StableVideoDiffusionPipeline,
        data: StageData,
        store: ObjectStore,
        tmp: Path,
        losses: list[float],
        started: float,
    ) -> StageResult:
        """Last checkpoint, ``final/`` (EMA weights), metrics, then ``result.json``."""
        cfg = self.cfg
        if cfg.steps > 0 and self.optimizer is not None:
            self._checkpoint(accelerator, pipe.unet, self.optimizer, store, tmp, cfg.steps)
        apply_ema(self.ema, pipe.unet)  # pipe.unet is never the wrapped (prepared) module
        fps = int(cfg.target_fps) if float(cfg.target_fps).is_integer() else cfg.target_fps
        meta = {
            "height": cfg.height, "width": cfg.width, "num_frames": cfg.num_frames, "fps": fps,
            "motion_bucket_edges": list(data.info.motion_bucket_edges), "stage": cfg.name,
            "run_id": self.run_id, "dataset_version": self.dataset_version,
        }
        final_dir, digest = checkpoint.save_final(pipe.to("cpu"), tmp, meta)
        checkpoint_uri = checkpoint.upload_final(store, final_dir, self.prefix)
        metrics_uri = store.put_file(tmp / "metrics.jsonl", f"{self.prefix}/metrics.jsonl")
        result = StageResult(
            stage=cfg.name, run_id=self.run_id, steps=cfg.steps,
            first_loss=losses[0] if losses else None, last_loss=losses[-1] if losses else None,
            checkpoint_uri=checkpoint_uri, sha256=digest, metrics_uri=metrics_uri,
            dataset_name=self.dataset_name, dataset_version=self.dataset_version,
            init_uri=self.init_uri, elapsed_s=round(time.monotonic() - started, 3),
        )
        write_result(store, result)
        log.info("stage done", **result.to_dict())
        return result


def train_stage(
    cfg: StageConfig,
    settings: Settings,
    run_id: str,
    dataset_name: str,
    dataset_version: str,
    init_uri: str | None = None,
) -> StageResult:
    """Run one stage in this process (what ``python -m training.main`` does)."""
    return StageTrainer(cfg, settings, run_id, dataset_name, dataset_version, init_uri).run()
