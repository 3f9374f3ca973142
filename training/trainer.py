"""The training loop of one stage: init → (resume) → freeze → AdamW (+EMA) → checkpoints → final.

Everything random is a pure function of ``(cfg.seed, step, rank)``: the batch
order (:class:`training.data.ShardSampler`), window starts, σ, noise, σ_aug and
conditioning-dropout draws (a fresh generator per step) and the global torch RNG
(reseeded every step, for any module dropout). A stage restarted with the same
config continues from its newest complete checkpoint (:mod:`training.resume`)
and ends bit-identical to an uninterrupted run. With N processes
(``accelerate launch``) every rank trains on its own shard of each micro-batch
and the main process alone writes to the store. Work happens in a local temp
directory; checkpoints, ``metrics.jsonl``, ``final/`` and finally
``result.json`` are uploaded to the object store under ``runs/<run_id>/<stage>/``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from training import checkpoint, edm
from training.data import ClipDataset, FrameSpec, StageData, load_stage_data, make_loader
from training.distributed import (
    TrainUnet,
    make_accelerator,
    make_optimizer,
    make_scheduler,
    peak_memory_mb,
    set_lr,
    state_digest,
)
from training.ema import apply_ema, make_ema
from training.freeze import freeze, set_trainable
from training.metrics import MetricsLog, metrics_until
from training.model import build_pipeline, load_model_config, load_pipeline
from training.objective import Components, denoising_loss
from training.result import StageResult, read_result, run_prefix, write_result
from training.resume import ResumePoint, find_resume_point, load_weights, restore_state
from vidforge.logging import get_logger
from vidforge.store import fetch_dir, open_store

if TYPE_CHECKING:
    from collections.abc import Iterator

    from accelerate import Accelerator
    from diffusers import StableVideoDiffusionPipeline
    from diffusers.training_utils import EMAModel

    from training.config import StageConfig
    from vidforge.settings import Settings, StoreSettings
    from vidforge.store import ObjectStore

log = get_logger(__name__)


def step_seed(seed: int, step: int, rank: int = 0) -> int:
    """Seed of the random draws of optimizer step ``step`` (1-based) on ``rank`` of a stage seeded ``seed``."""
    return (seed * 1_000_003 + step + rank * (1 << 48)) % (1 << 63)


def init_pipeline(
    cfg: StageConfig, init_uri: str | None, store_settings: StoreSettings, tmp: Path
) -> StableVideoDiffusionPipeline:
    """The stage's starting pipeline: ``init_uri`` (a ``final/`` dir URI) or built from config.

    Raises:
        FileNotFoundError: ``init_uri`` holds no pipeline.
    """
    if not init_uri:
        return build_pipeline(load_model_config(cfg.model_config_name), seed=cfg.seed)
    return load_pipeline(fetch_dir(init_uri, tmp / "init", store_settings))


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
        self.scheduler: Any = None
        self.first_loss: float | None = None
        self.position = 0  # items of the global sample stream consumed (all ranks)
        self.checkpointed = 0  # newest step with a complete checkpoint in the store
        self.seen: list[int] = []  # stream positions this rank trained on (first few)

    def result_config(self) -> dict[str, Any]:
        """What a checkpoint must share with this stage to resume: result-changing config and inputs."""
        return {**self.cfg.result_fields(), "dataset_name": self.dataset_name,
                "dataset_version": self.dataset_version, "init_uri": self.init_uri}

    def run(self, workdir: str | Path | None = None) -> StageResult:
        """Train, upload checkpoints and ``final/``, publish ``result.json`` last."""
        started = time.monotonic()
        store = open_store(self.settings.store)
        accelerator = make_accelerator(self.cfg)
        if accelerator.is_main_process:
            store.delete(f"{self.prefix}/result.json")  # a stale result must not outlive a new attempt
        data = load_stage_data(store, self.cfg, self.dataset_name, self.dataset_version)
        log.info("stage start", stage=self.cfg.name, run_id=self.run_id, train_clips=len(data.train),
                 holdout_clips=len(data.holdout), init_uri=self.init_uri,
                 rank=accelerator.process_index, world_size=accelerator.num_processes)
        with tempfile.TemporaryDirectory(prefix=f"vf-{self.cfg.name}-", dir=workdir) as tmp_name:
            tmp = Path(tmp_name)
            pipe = init_pipeline(self.cfg, self.init_uri, self.settings.store, tmp)
            losses = self._train(accelerator, pipe, data, store, tmp)
            return self._finish(accelerator, pipe, data, store, tmp, losses, started)

    def setup(
        self, accelerator: Accelerator, pipe: StableVideoDiffusionPipeline, point: ResumePoint | None
    ) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
        """Weights (from ``point`` when resuming), optimizer, scheduler and EMA; returns the prepared pair."""
        cfg = self.cfg
        device = accelerator.device
        freeze(pipe.vae.to(device))
        freeze(pipe.image_encoder.to(device))
        if point is not None:
            load_weights(point, pipe.unet)
        pipe.unet.to(device)  # before the EMA copies its parameters: shadows live beside them
        if cfg.gradient_checkpointing:
            pipe.unet.enable_gradient_checkpointing()
        params = set_trainable(pipe.unet, cfg.train_spatial, cfg.train_temporal)
        optimizer = make_optimizer(cfg, params, device)
        self.scheduler = make_scheduler(cfg, optimizer)
        self.ema = make_ema(pipe.unet, cfg.ema_decay)
        if point is not None:
            restore_state(point, pipe.unet, optimizer, self.scheduler, self.ema)
            self.position = int(point.state["data_position"])
            self.first_loss = point.state.get("first_loss")
            self.checkpointed = point.step
        unet, optimizer = accelerator.prepare(pipe.unet, optimizer)
        self.optimizer = optimizer
        return unet, optimizer

    def _train(
        self,
        accelerator: Accelerator,
        pipe: StableVideoDiffusionPipeline,
        data: StageData,
        store: ObjectStore,
        tmp: Path,
    ) -> list[float]:
        """The optimisation loop; returns the batch-mean loss of every step run in this process."""
        cfg = self.cfg
        point = find_resume_point(store, self.prefix, cfg, tmp, self.result_config())
        start = point.step if point is not None else 0
        if point is not None:
            log.info("resuming", stage=cfg.name, step=start, path=str(point.path))
        unet, optimizer = self.setup(accelerator, pipe, point)
        unet.train()
        world = accelerator.num_processes
        rows = metrics_until(store, f"{self.prefix}/metrics.jsonl", start) if start else []
        metrics = MetricsLog(tmp / "metrics.jsonl", rows)
        per_step = cfg.batch_size * cfg.gradient_accumulation_steps * world
        losses: list[float] = []
        t0 = time.monotonic()
        phase, batches = -1, iter(())
        for step in range(start + 1, cfg.steps + 1):
            if cfg.phase_index(step) != phase:  # a new phase: its resolution, noise and lr
                phase = cfg.phase_index(step)
                batches = self._phase_batches(accelerator, data, phase, step)
            tick = time.monotonic()
            micro = [next(batches) for _ in range(cfg.gradient_accumulation_steps)]
            row = self.train_step(accelerator, pipe, unet, optimizer, micro, step)
            self.position += per_step
            losses.append(row["loss"])
            if self.first_loss is None:
                self.first_loss = row["loss"]
            row.update(samples_per_s=per_step / (time.monotonic() - tick), elapsed_s=time.monotonic() - t0,
                       peak_mem_mb=peak_memory_mb(accelerator.device))
            if cfg.phases:
                row["phase"] = cfg.phases[phase].name
            if accelerator.is_main_process and (step % cfg.log_every == 0 or step == cfg.steps):
                metrics.write(row)
                log.info("step", stage=cfg.name, **row)
            phase_done = step == cfg.phase_end(phase)
            if step < cfg.steps and (phase_done or (cfg.checkpoint_every and step % cfg.checkpoint_every == 0)):
                self._checkpoint(accelerator, unet, optimizer, store, tmp, step)
        return losses

    def _phase_batches(
        self, accelerator: Accelerator, data: StageData, phase: int, step: int
    ) -> Iterator[dict[str, Any]]:
        """Batches of phase ``phase`` from the current stream position; sets the phase's lr."""
        pcfg = self.cfg.at_step(step)
        if self.cfg.phases:
            log.info("phase", stage=self.cfg.name, phase=self.cfg.phases[phase].name, step=step,
                     height=pcfg.height, width=pcfg.width, p_mean=pcfg.p_mean, p_std=pcfg.p_std, lr=pcfg.lr)
        set_lr(self.optimizer, self.scheduler, pcfg.lr)
        dataset = ClipDataset(data.train, FrameSpec.of(pcfg), pcfg.seed, self.settings.store,
                              data.info.motion_bucket_edges, cache_bytes=pcfg.cache_bytes)
        return iter(make_loader(dataset, pcfg.batch_size, pcfg.seed, rank=accelerator.process_index,
                                world_size=accelerator.num_processes, start_position=self.position,
                                num_workers=pcfg.num_workers))

    def train_step(
        self,
        accelerator: Accelerator,
        pipe: StableVideoDiffusionPipeline,
        unet: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        micro: list[dict[str, Any]],
        step: int,
    ) -> dict[str, Any]:
        """One optimizer step over the micro-batches ``micro``; returns its metrics row."""
        cfg = self.cfg.at_step(step)
        device = accelerator.device
        seed = step_seed(cfg.seed, step, accelerator.process_index)
        torch.manual_seed(seed)  # module-level randomness (dropout layers) is a function of the step too
        gen = torch.Generator(device=device).manual_seed(seed)
        parts = Components(unet=TrainUnet(unet, pipe.unet), vae=pipe.vae, image_encoder=pipe.image_encoder,
                           feature_extractor=pipe.feature_extractor)
        optimizer.zero_grad(set_to_none=True)
        total = torch.zeros((), device=device)
        sigmas = []
        for i, batch in enumerate(micro):
            frames = batch["frames"].to(device)
            self.seen.extend(batch["position"].tolist()[: max(0, 64 - len(self.seen))])
            sigma = edm.sample_sigmas(frames.shape[0], cfg.p_mean, cfg.p_std, gen, device)
            sigmas.append(sigma)
            sync = i == len(micro) - 1
            with nullcontext() if sync else accelerator.no_sync(unet):
                with accelerator.autocast():
                    loss = denoising_loss(
                        parts, frames, batch["fps"].to(device), batch["motion_bucket"].to(device), sigma,
                        generator=gen, cond_dropout=cfg.cond_dropout,
                        noise_aug_mean=cfg.noise_aug_mean, noise_aug_std=cfg.noise_aug_std,
                        joint_dropout=cfg.cond_dropout_joint, concat_latent=cfg.concat_latent,
                    ).mean()
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"non-finite loss {loss.item()} at step {step} of {cfg.name}")
                accelerator.backward(loss / len(micro))
            total += loss.detach() / len(micro)
        params = [p for p in unet.parameters() if p.requires_grad]
        grad_norm = accelerator.clip_grad_norm_(params, cfg.max_grad_norm or float("inf"))
        lr = optimizer.param_groups[0]["lr"]
        optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        if self.ema is not None:
            self.ema.step(accelerator.unwrap_model(unet).parameters())
        return {
            "step": step, "loss": float(accelerator.reduce(total, "mean")), "lr": lr,
            "grad_norm": float(grad_norm), "sigma_mean": float(torch.cat(sigmas).mean()),
        }

    def _checkpoint(
        self,
        accelerator: Accelerator,
        unet: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        store: ObjectStore,
        tmp: Path,
        step: int,
    ) -> str | None:
        """Main process: save ``step-<n>/``, publish it with rotation, refresh ``metrics.jsonl``.

        Every rank waits until the checkpoint is published; returns its URI on the main process.
        """
        cfg = self.cfg
        uri = None
        if accelerator.is_main_process:
            state = checkpoint.training_state(
                step, optimizer, self.ema, cfg.name, cfg.seed, scheduler=self.scheduler,
                data_position=self.position, first_loss=self.first_loss, config=self.result_config(),
            )
            local = checkpoint.save_step(tmp / "steps", accelerator.unwrap_model(unet), self.ema, state)
            # metrics first: once a step is published its rows are in the store too (a resume
            # keeps the rows up to its step and drops any written after it)
            store.put_file(tmp / "metrics.jsonl", f"{self.prefix}/metrics.jsonl")
            uri = checkpoint.upload_step(store, local, self.prefix, cfg.keep_last)
            shutil.rmtree(local)
            log.info("checkpoint", stage=cfg.name, step=step, uri=uri)
        self.checkpointed = step
        accelerator.wait_for_everyone()
        return uri

    def _write_rank_summary(self, accelerator: Accelerator, unet: torch.nn.Module, store: ObjectStore) -> None:
        """With several processes, ``ranks/rank-<r>.json``: weight digests and the first positions seen."""
        summary = {
            "rank": accelerator.process_index, "world_size": accelerator.num_processes,
            "unet_sha256": state_digest(unet.state_dict()), "positions": self.seen,
        }
        if self.ema is not None:
            summary["ema_sha256"] = state_digest({str(i): p for i, p in enumerate(self.ema.shadow_params)})
        store.put_bytes(f"{self.prefix}/ranks/rank-{accelerator.process_index}.json",
                        json.dumps(summary, indent=2).encode())

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
        """Last checkpoint, ``final/`` (EMA weights), metrics, then ``result.json`` (the main process publishes)."""
        cfg = self.cfg
        if cfg.steps > self.checkpointed and self.optimizer is not None:
            self._checkpoint(accelerator, pipe.unet, self.optimizer, store, tmp, cfg.steps)
        if accelerator.num_processes > 1:
            self._write_rank_summary(accelerator, pipe.unet, store)
        apply_ema(self.ema, pipe.unet)  # pipe.unet is never the wrapped (prepared) module
        if accelerator.is_main_process:
            checkpoint_uri, digest, metrics_uri = self._upload_final(pipe.to("cpu"), data, store, tmp)
            result = StageResult(
                stage=cfg.name, run_id=self.run_id, steps=cfg.steps,
                first_loss=self.first_loss, last_loss=losses[-1] if losses else self._last_logged_loss(tmp),
                checkpoint_uri=checkpoint_uri, sha256=digest, metrics_uri=metrics_uri,
                dataset_name=self.dataset_name, dataset_version=self.dataset_version,
                init_uri=self.init_uri, elapsed_s=round(time.monotonic() - started, 3),
            )
            write_result(store, result)
            log.info("stage done", **result.to_dict())
        accelerator.wait_for_everyone()
        return read_result(store, self.run_id, cfg.name)  # every rank returns the published result

    def _upload_final(
        self, pipe: StableVideoDiffusionPipeline, data: StageData, store: ObjectStore, tmp: Path
    ) -> tuple[str, str, str]:
        """Upload ``final/`` and ``metrics.jsonl``; return ``(checkpoint_uri, final sha256, metrics_uri)``."""
        cfg = self.cfg.final()  # the resolution of the last phase
        fps = int(cfg.target_fps) if float(cfg.target_fps).is_integer() else cfg.target_fps
        meta = {
            "height": cfg.height, "width": cfg.width, "num_frames": cfg.num_frames, "fps": fps,
            "motion_bucket_edges": list(data.info.motion_bucket_edges), "stage": cfg.name,
            "run_id": self.run_id, "dataset_version": self.dataset_version,
        }
        final_dir, digest = checkpoint.save_final(pipe, tmp, meta)
        checkpoint_uri = checkpoint.upload_final(store, final_dir, self.prefix)
        metrics_uri = store.put_file(tmp / "metrics.jsonl", f"{self.prefix}/metrics.jsonl")
        return checkpoint_uri, digest, metrics_uri

    @staticmethod
    def _last_logged_loss(tmp: Path) -> float | None:
        """The loss of the last ``metrics.jsonl`` row (a stage resumed at its last step trains none)."""
        path = tmp / "metrics.jsonl"
        lines = path.read_text().splitlines() if path.is_file() else []
        return json.loads(lines[-1])["loss"] if lines else None


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
