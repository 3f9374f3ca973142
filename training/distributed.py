"""Accelerate wiring of a stage: the accelerator, the optimizer, per-rank helpers.

One code path for 1 or N processes (``accelerate launch``/``torchrun`` set the
rank environment; on CPU the backend is gloo). ``batch_size`` is per process
and micro-batch; an optimizer step consumes ``gradient_accumulation_steps``
micro-batches on every rank.
"""

from __future__ import annotations

import hashlib
import resource
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from vidforge.logging import get_logger

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from accelerate import Accelerator

    from training.config import StageConfig

log = get_logger(__name__)


def make_accelerator(cfg: StageConfig) -> Accelerator:
    """An :class:`~accelerate.Accelerator` for ``cfg`` (CPU when there is no CUDA).

    Mixed precision that the device cannot run (bf16 without support, fp16 on
    CPU) falls back to ``"no"`` with a warning. Stages of different precision
    may follow each other in one process (see :func:`_allow_precision`).
    """
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs

    cpu = not torch.cuda.is_available()
    precision = cfg.mixed_precision
    if precision == "fp16" and cpu:
        log.warning("fp16 needs CUDA; training in fp32", stage=cfg.name)
        precision = "no"
    if precision == "bf16" and not cpu and not torch.cuda.is_bf16_supported():
        log.warning("bf16 not supported on this GPU; training in fp32", stage=cfg.name)
        precision = "no"
    _allow_precision(precision)
    # frozen layers (stage I's temporal ones) get no gradient; trainable ones always do
    ddp = DistributedDataParallelKwargs(find_unused_parameters=False)
    return Accelerator(cpu=cpu, mixed_precision=precision, kwargs_handlers=[ddp])


def _allow_precision(precision: str) -> None:
    """Let the next ``Accelerator`` of this process use ``precision`` after one of another precision.

    accelerate keeps one ``AcceleratorState`` per process and refuses a second mixed
    precision ("AcceleratorState has already been initialized and cannot be changed,
    restart your runtime", ``AcceleratorState._check_initialized``). accelerate 1.x has
    no public way to change or release it: ``Accelerator.free_memory``/``clear`` drop
    prepared objects only, ``end_training`` trackers and the process group; its own test
    base class (``accelerate.test_utils.AccelerateTestCase``) calls the private
    ``_reset_state``, as we do here — the one private accelerate call of the trainer,
    kept in this function. The alternative (always ``mixed_precision="no"`` plus our own
    autocast and fp16 ``GradScaler``) would re-implement what accelerate does. The
    process group (``PartialState``) is kept, so ranks stay connected between stages.
    """
    from accelerate.state import AcceleratorState

    state = AcceleratorState._shared_state
    if state and state.get("_mixed_precision") not in (None, precision):
        AcceleratorState._reset_state(reset_partial_state=False)


def make_optimizer(
    cfg: StageConfig, params: Iterable[torch.nn.Parameter], device: torch.device
) -> torch.optim.Optimizer:
    """AdamW with ``cfg.lr`` / ``cfg.weight_decay`` in the ``cfg.optimizer`` variant.

    ``adamw_8bit`` needs bitsandbytes and CUDA, ``adamw_fused`` a device with a
    fused kernel; otherwise plain AdamW is used and a warning is logged.
    """
    params = list(params)
    kwargs: dict[str, Any] = {"lr": cfg.lr, "weight_decay": cfg.weight_decay}
    if cfg.optimizer == "adamw_8bit":
        try:
            import bitsandbytes as bnb  # type: ignore[import-not-found]

            if device.type != "cuda":
                raise ImportError("8-bit AdamW runs on CUDA only")
            return bnb.optim.AdamW8bit(params, **kwargs)
        except ImportError as e:
            log.warning("8-bit AdamW unavailable; using AdamW", reason=str(e))
    if cfg.optimizer == "adamw_fused":
        try:
            return torch.optim.AdamW(params, fused=True, **kwargs)
        except (RuntimeError, ValueError) as e:
            log.warning("fused AdamW unavailable; using AdamW", reason=str(e))
    return torch.optim.AdamW(params, **kwargs)


def make_scheduler(cfg: StageConfig, optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LRScheduler | None:
    """Linear warm-up over ``cfg.lr_warmup_steps`` optimizer steps; None for a constant LR."""
    if cfg.lr_warmup_steps == 0:
        return None
    return torch.optim.lr_scheduler.LambdaLR(optimizer, _Warmup(cfg.lr_warmup_steps))


def set_lr(optimizer: torch.optim.Optimizer | None, scheduler: Any, lr: float) -> None:
    """Make ``lr`` the base learning rate of every group (a phase's lr), keeping the warm-up factor."""
    if optimizer is None:
        return
    factor = 1.0
    if scheduler is not None:
        scheduler.base_lrs = [lr] * len(optimizer.param_groups)
        factor = scheduler.lr_lambdas[0](scheduler.last_epoch)
        for group in optimizer.param_groups:
            group["initial_lr"] = lr
    for group in optimizer.param_groups:
        group["lr"] = lr * factor


@dataclass(frozen=True)
class _Warmup:
    steps: int

    def __call__(self, done: int) -> float:
        return min(1.0, (done + 1) / self.steps)


class TrainUnet:
    """The prepared (possibly DDP-wrapped) UNet with the ``dtype`` / ``config`` of the bare one.

    ``training.objective`` calls ``unet(...)`` and reads ``unet.dtype``; calling
    the wrapper (not the bare module) is what synchronises gradients across ranks.
    """

    def __init__(self, prepared: torch.nn.Module, bare: torch.nn.Module) -> None:
        self.prepared, self.bare = prepared, bare

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.prepared(*args, **kwargs)

    @property
    def dtype(self) -> torch.dtype:
        return self.bare.dtype

    @property
    def config(self) -> Any:
        return self.bare.config


def state_digest(tensors: Mapping[str, torch.Tensor]) -> str:
    """sha256 over the names, dtypes, shapes and bytes of named tensors (e.g. a state dict)."""
    h = hashlib.sha256()
    for name, t in sorted(tensors.items()):
        t = t.detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def peak_memory_mb(device: torch.device) -> float:
    """Peak memory of this process in MiB: CUDA max allocated on a GPU, max RSS on CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024
