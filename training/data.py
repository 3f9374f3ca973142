"""Training data: a published dataset version → seeded batches of frame tensors.

Reads only through :func:`vidforge.dataset.load_dataset` (never ``curation``).
Kept clips are split into train / holdout by a hash of ``clip_id`` (stable
across stages, seeds and row order); a stage may then keep only the top
fraction of its training clips (stage III). Clips are decoded with PyAV from
their object-store URI, resized/center-cropped and kept in a per-worker LRU
cache bounded by ``cache_bytes``.

Sampling is a pure function of ``(seed, position in the stream)``: the
:class:`EpochSampler` permutes clips per epoch with ``seed + epoch`` and each
item draws its window start from ``(seed, index)``, so a run resumed at step
``s`` sees exactly the batches it would have seen.
"""

from __future__ import annotations

import hashlib
import io
import math
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from vidforge.dataset import DatasetInfo, load_dataset, motion_bucket
from vidforge.media import upright
from vidforge.store import open_uri

if TYPE_CHECKING:
    import pandas as pd

    from training.config import StageConfig
    from vidforge.settings import StoreSettings
    from vidforge.store import ObjectStore


def _unit_hash(clip_id: str) -> float:
    """Stable hash of a clip id in [0, 1)."""
    return int(hashlib.sha256(clip_id.encode()).hexdigest()[:12], 16) / float(1 << 48)


def split_clips(df: pd.DataFrame, holdout_fraction: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Deterministic train/holdout split of clips by a hash of ``clip_id``.

    A clip is held out when its hash in [0, 1) is below ``holdout_fraction``, so
    the split does not depend on row order, seeds or other clips. With ≥ 2 clips
    and a positive fraction there is at least one holdout clip (the lowest hash)
    and at least one training clip (the highest hash).

    Returns:
        (train, holdout) DataFrames sorted by ``clip_id`` with a fresh index.
    """
    if not 0.0 <= holdout_fraction < 1.0:
        raise ValueError(f"holdout_fraction must be in [0, 1), got {holdout_fraction}")
    df = df.sort_values("clip_id").reset_index(drop=True)
    h = df["clip_id"].map(_unit_hash)
    hold = h < holdout_fraction
    if len(df) >= 2 and holdout_fraction > 0:
        hold[h.idxmin()] = True
        hold[h.idxmax()] = False
    return df[~hold].reset_index(drop=True), df[hold].reset_index(drop=True)


def select_top(df: pd.DataFrame, fraction: float, by: str = "motion_score") -> pd.DataFrame:
    """The ``ceil(fraction · n)`` rows with the highest ``by`` (ties by ``clip_id``), at least one."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    if fraction >= 1.0 or df.empty:
        return df.reset_index(drop=True)
    n = max(1, math.ceil(fraction * len(df)))
    ranked = df.sort_values([by, "clip_id"], ascending=[False, True], na_position="last")
    return ranked.head(n).sort_values("clip_id").reset_index(drop=True)


def decode_clip(uri: str, store_settings: StoreSettings | None = None) -> np.ndarray:
    """Decode every frame of the mp4 at ``uri`` → uint8 ``[N, H, W, 3]`` RGB.

    Raises:
        FileNotFoundError: nothing at ``uri``.
        ValueError: the file has no decodable video frames.
    """
    import av

    store, key = open_uri(uri, store_settings)
    local = store.local_path(key)
    source: Any = str(local) if local is not None else io.BytesIO(store.get_bytes(key))
    if local is not None and not local.is_file():
        raise FileNotFoundError(uri)
    with av.open(source) as container:
        frames = [upright(f.to_ndarray(format="rgb24"), f.rotation) for f in container.decode(video=0)]
    if not frames:
        raise ValueError(f"no video frames in {uri}")
    return np.stack(frames)


def resize_center_crop(frames: np.ndarray | torch.Tensor, height: int, width: int) -> torch.Tensor:
    """uint8 ``[N, H, W, 3]`` → uint8 ``[N, 3, height, width]``: scale to cover, crop the center."""
    x = torch.as_tensor(frames).permute(0, 3, 1, 2).float()
    h, w = x.shape[-2:]
    scale = max(height / h, width / w)
    nh, nw = max(height, round(h * scale)), max(width, round(w * scale))
    x = torch.nn.functional.interpolate(x, size=(nh, nw), mode="bilinear", antialias=True, align_corners=False)
    top, left = (nh - height) // 2, (nw - width) // 2
    x = x[..., top : top + height, left : left + width]
    return x.round().clamp(0, 255).to(torch.uint8)


def frame_indices(
    n_available: int, clip_fps: float, target_fps: float, num_frames: int, start_u: float = 0.0
) -> tuple[list[int], float]:
    """Which frames to take for ``num_frames`` at ``target_fps``, and the fps they really have.

    The stride is ``clip_fps / target_fps`` (at least 1 frame); when the clip is too
    short for that stride it shrinks to fit (higher effective fps), and a clip with
    fewer than ``num_frames`` frames repeats its last frame.

    Args:
        start_u: where the window starts, in [0, 1] of the free range (0 = first frame).

    Returns:
        (indices, effective_fps): ``num_frames`` indices into the clip and the frame rate
        they represent (what the model is conditioned on as ``fps − 1``).
    """
    if num_frames == 1:
        return [min(n_available - 1, int(start_u * n_available))], float(target_fps)
    stride = max(1.0, clip_fps / target_fps)
    if (num_frames - 1) * stride > n_available - 1:
        stride = max(1.0, (n_available - 1) / (num_frames - 1))
    free = max(0.0, n_available - 1 - (num_frames - 1) * stride)
    start = min(free, start_u * free)
    idx = [min(n_available - 1, round(start + k * stride)) for k in range(num_frames)]
    return idx, float(clip_fps / stride)


@dataclass(frozen=True)
class FrameSpec:
    """How samples are cut from clips: size in px, frames per sample, frame rate."""

    height: int
    width: int
    num_frames: int
    target_fps: float

    @classmethod
    def of(cls, cfg: StageConfig) -> FrameSpec:
        """The spec of a stage config."""
        return cls(cfg.height, cfg.width, cfg.num_frames, cfg.target_fps)


class ClipDataset(Dataset):
    """Samples ``{"frames": [F, 3, H, W] in [−1, 1], "fps", "motion_bucket", "clip_id", "position"}``.

    Index ``i`` may exceed ``len(self)`` (an :class:`EpochSampler` stream position):
    the clip is ``i % len``, the window start is drawn from ``(seed, i)``.
    """

    def __init__(
        self,
        clips: pd.DataFrame,
        spec: FrameSpec,
        seed: int = 0,
        store_settings: StoreSettings | None = None,
        motion_bucket_edges: list[float] | None = None,
        cache_bytes: int = 256 * 2**20,
    ) -> None:
        if clips.empty:
            raise ValueError("no clips to train on")
        self.clips = clips.reset_index(drop=True)
        self.spec = spec
        self.seed = seed
        self.store_settings = store_settings
        self.edges = list(motion_bucket_edges or [])
        self.cache_bytes = cache_bytes
        self._cache: OrderedDict[str, torch.Tensor] = OrderedDict()

    def __len__(self) -> int:
        return len(self.clips)

    def frames_of(self, uri: str) -> torch.Tensor:
        """All frames of a clip at the spec's size, uint8 ``[N, 3, H, W]``.

        Kept in a least-recently-used cache of at most ``cache_bytes`` (a clip larger
        than the bound is decoded again on every use).
        """
        if uri in self._cache:
            self._cache.move_to_end(uri)
            return self._cache[uri]
        frames = resize_center_crop(decode_clip(uri, self.store_settings), self.spec.height, self.spec.width)
        self._cache[uri] = frames
        while self._cache and self.cached_bytes() > self.cache_bytes:
            self._cache.popitem(last=False)
        return frames

    def cached_bytes(self) -> int:
        """Bytes of decoded frames held in the cache."""
        return sum(t.numel() * t.element_size() for t in self._cache.values())

    def bucket_of(self, row: pd.Series) -> float:
        """The row's ``motion_bucket``, or one from its score and the dataset's edges."""
        value = row.get("motion_bucket")
        if value is not None and not _isnan(value):
            return float(value)
        score = row.get("motion_score")
        return float(motion_bucket(float(score), self.edges)) if not _isnan(score) else 127.0

    def sample(self, position: int, start_u: float) -> dict[str, Any]:
        """The sample of clip ``position`` with the window at ``start_u`` ∈ [0, 1]."""
        row = self.clips.iloc[position]
        frames = self.frames_of(str(row["uri"]))
        spec = self.spec
        idx, fps = frame_indices(len(frames), float(row["fps"]), spec.target_fps, spec.num_frames, start_u)
        x = frames[idx].float() / 127.5 - 1.0
        return {"frames": x, "fps": fps, "motion_bucket": self.bucket_of(row), "clip_id": str(row["clip_id"])}

    def __getitem__(self, index: int) -> dict[str, Any]:
        start_u = float(np.random.default_rng([self.seed, int(index)]).random())
        return {**self.sample(int(index) % len(self), start_u), "position": int(index)}


def _isnan(value: Any) -> bool:
    try:
        return value is None or math.isnan(float(value))
    except (TypeError, ValueError):
        return True


class EpochSampler(Sampler[int]):
    """Endless stream of positions: epoch ``e`` is a permutation seeded by ``seed + e``.

    Yields ``e · n + perm_e[j]`` so the dataset knows both the clip and a unique
    stream position; ``start`` skips that many items (resume).
    """

    def __init__(self, n: int, seed: int, start: int = 0) -> None:
        self.n, self.seed, self.start = n, seed, start

    def __iter__(self) -> Iterator[int]:
        epoch, offset = divmod(self.start, self.n)
        while True:
            perm = torch.randperm(self.n, generator=torch.Generator().manual_seed(self.seed + epoch))
            for j in perm[offset:].tolist():
                yield epoch * self.n + j
            epoch, offset = epoch + 1, 0


class ShardSampler(Sampler[int]):
    """Rank ``rank``'s share of an :class:`EpochSampler` stream beginning at item ``start``.

    The global stream is cut into micro-batches of ``batch_size × world_size``
    items; rank ``r`` takes items ``[r·batch_size, (r+1)·batch_size)`` of each, so
    ranks see disjoint samples and together exactly the single-process stream.
    ``start`` must be a multiple of ``batch_size × world_size``.
    """

    def __init__(self, n: int, seed: int, batch_size: int, rank: int = 0, world_size: int = 1,
                 start: int = 0) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside world of {world_size}")
        if start % (batch_size * world_size):
            raise ValueError(f"start {start} is not a multiple of batch_size × world_size")
        self.stream = EpochSampler(n, seed, start=start)
        self.batch_size, self.rank, self.world_size = batch_size, rank, world_size

    def __iter__(self) -> Iterator[int]:
        for i, position in enumerate(self.stream):
            if (i // self.batch_size) % self.world_size == self.rank:
                yield position


def make_loader(
    dataset: ClipDataset,
    batch_size: int,
    seed: int,
    start_step: int = 0,
    *,
    rank: int = 0,
    world_size: int = 1,
    start_position: int | None = None,
    num_workers: int = 0,
) -> DataLoader:
    """An endless, deterministic DataLoader of rank ``rank``'s micro-batches.

    It begins at item ``start_position`` of the global stream (default: micro-batch
    ``start_step`` of a single process, ``start_step · batch_size``). With ``num_workers``
    > 0 clips are decoded in worker processes; the batches are the same as in-process
    ones (each sample's randomness is drawn from ``(seed, position)``, never from worker
    state, and the DataLoader keeps the sampler's order).
    """
    start = start_step * batch_size if start_position is None else start_position
    sampler = ShardSampler(len(dataset), seed, batch_size, rank, world_size, start)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
                      persistent_workers=num_workers > 0, worker_init_fn=_one_thread if num_workers else None)


def _one_thread(_worker_id: int) -> None:
    """Workers decode and resize; one torch thread each keeps them from oversubscribing the CPUs."""
    torch.set_num_threads(1)


@dataclass
class StageData:
    """A stage's view of a dataset version: the info and its train / holdout clips."""

    info: DatasetInfo
    train: pd.DataFrame
    holdout: pd.DataFrame


def load_stage_data(store: ObjectStore, cfg: StageConfig, name: str, version: str) -> StageData:
    """Kept clips of ``name/version`` → train (after ``select_top_fraction``) and holdout.

    The holdout is chosen before selection, so every stage shares it.

    Raises:
        FileNotFoundError: the dataset version is not published.
        ValueError: no kept clip is left for training.
    """
    ds = load_dataset(store, name, version)
    train, holdout = split_clips(ds.kept, cfg.holdout_fraction)
    train = select_top(train, cfg.select_top_fraction, cfg.select_by)
    if train.empty:
        raise ValueError(f"dataset {name}/{version} has no kept clips to train on")
    return StageData(info=ds.info, train=train, holdout=holdout)


def holdout_samples(
    store: ObjectStore,
    cfg: StageConfig,
    name: str,
    version: str,
    store_settings: StoreSettings | None = None,
    start_u: float = 0.0,
) -> list[dict[str, Any]]:
    """Deterministic samples of the held-out clips for evaluation, one per clip.

    Same split and frame sampling as the last phase of ``cfg`` (size, frames, fps), the
    window fixed at ``start_u`` ∈ [0, 1] (0 = from the first frame). Each item is a
    :class:`ClipDataset` sample: ``frames`` ``[F, 3, H, W]`` in [−1, 1], ``fps``,
    ``motion_bucket``, ``clip_id``; the list is sorted by ``clip_id`` and empty when
    the dataset has fewer than two kept clips.
    """
    data = load_stage_data(store, cfg, name, version)
    if data.holdout.empty:
        return []
    ds = ClipDataset(data.holdout, FrameSpec.of(cfg.final()), cfg.seed, store_settings, data.info.motion_bucket_edges)
    return [ds.sample(i, start_u) for i in range(len(ds))]
