"""Evaluation sets: a versioned dataset kind of its own that champion and challenger are scored on.

Layout under the object store (immutable once published; ``evalset.json`` is written last)::

    evalsets/<name>/<version>/
      samples/<sample_id>.npz   reference clip, uint8 [F, H, W, 3] (its first frame conditions)
      stats/<metric>-<sha16>.npz real-set Gaussian fit (FVD: I3D, FID: Inception) of the network
                                 whose file sha256 starts with <sha16>, computed once at build
      evalset.json              name, version, source, sizes, samples (sample_id, clip_id,
                                 source_id, caption, fps, motion_bucket), stats

An evaluation set is identified by ``<name>/<version>``, its URI and the
sha256 of its tree (:func:`vidforge.digest.sha256_tree`), all recorded with
every evaluation. It is built from the held-out clips of a curated dataset
version (split and sized exactly as the final training stage), or from a folder of
reference videos (:mod:`evaluation.evalset_folder`). Before scoring,
:func:`training_overlap` refuses a set that shares clips with what either model
trained on (the non-held-out kept clips of its dataset version).
"""

from __future__ import annotations

import io
import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from evaluation.metrics.frechet import GaussianStats
from vidforge.digest import sha256_tree

if TYPE_CHECKING:
    from evaluation.config import EvalConfig
    from evaluation.metrics.feature_net import FeatureNet
    from evaluation.scoring import EvalSample
    from vidforge.settings import Settings
    from vidforge.store import ObjectStore


class EvalSetError(RuntimeError):
    """An evaluation set is missing, altered, or overlaps a model's training clips."""


@dataclass
class EvalSet:
    """A loaded evaluation set: its record, samples, URI and tree digest."""

    info: dict[str, Any]
    samples: list[EvalSample]
    uri: str
    sha256: str

    @property
    def ref(self) -> str:
        return f"{self.info['name']}/{self.info['version']}"

    def real_stats(self, store: ObjectStore, metric: str, net: FeatureNet) -> GaussianStats | None:
        """The stored real-set fit for ``metric`` made with ``net`` (same file sha256), or None."""
        entry = self.info.get("stats", {}).get(metric)
        if not entry or entry["sha256"] != net.sha256:
            return None
        return GaussianStats.from_bytes(store.get_bytes(f"{prefix(self.ref)}/{entry['key']}"))


def prefix(ref: str) -> str:
    """Store prefix of evaluation set ``<name>/<version>``."""
    name, _, version = ref.partition("/")
    if not name or not version or "/" in version:
        raise ValueError(f"an evaluation set is named '<name>/<version>', got {ref!r}")
    return f"evalsets/{name}/{version}"


def _npz(frames: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, frames=frames)
    return buf.getvalue()


def real_features(samples: list[EvalSample], metric: str, net: FeatureNet) -> np.ndarray:
    """Features of the reference clips for ``metric`` (``fvd``: I3D per clip, ``fid``: Inception per frame)."""
    from evaluation.metrics.fid import inception_features
    from evaluation.metrics.fvd import i3d_features
    from evaluation.scoring import to_unit

    videos = [to_unit(s.frames) for s in samples]
    return i3d_features(net, videos) if metric == "fvd" else inception_features(net, videos)


def build_from_dataset(settings: Settings, ref: str, dataset: str, config: EvalConfig,
                       nets: dict[str, FeatureNet | None] | None = None) -> dict[str, Any]:
    """Build and publish evaluation set ``ref`` from the held-out clips of dataset ``<name>/<version>``.

    Up to ``config.max_clips`` clips, sized as ``config.final_stage`` trains; ``nets`` (``fvd``/``fid``
    → network) get their real-set statistics stored. Returns ``{"ref", "uri", "sha256", "samples"}``.

    Raises:
        EvalSetError: ``ref`` is already published (versions are immutable) or the dataset has no
            held-out clip.
    """
    from training.config import load_stage_config
    from training.data import holdout_samples, load_stage_data
    from vidforge.store import open_store

    store = open_store(settings.store)
    key = prefix(ref)
    if store.exists(f"{key}/evalset.json"):
        raise EvalSetError(f"evaluation set {ref} is already published; versions are immutable")
    ds_name, _, ds_version = dataset.partition("/")
    cfg = load_stage_config(config.final_stage)
    items = holdout_samples(store, cfg, ds_name, ds_version, settings.store)[: config.max_clips]
    if not items:
        raise EvalSetError(f"dataset {dataset} has no held-out clips to build {ref} from")
    rows = load_stage_data(store, cfg, ds_name, ds_version).holdout.set_index("clip_id")
    entries = []
    for item in items:
        row = rows.loc[item["clip_id"]]
        frames = ((item["frames"].permute(0, 2, 3, 1).numpy() + 1.0) * 127.5).round().clip(0, 255).astype(np.uint8)
        entries.append((frames, {
            "sample_id": item["clip_id"], "clip_id": item["clip_id"], "source_id": str(row.get("source_id", "")),
            "caption": str(row.get("caption_summary") or ""), "fps": float(item["fps"]),
            "motion_bucket": float(item["motion_bucket"]),
        }))
    source = {"kind": "dataset", "dataset": dataset, "holdout_fraction": cfg.holdout_fraction}
    return publish(store, ref, source, (cfg.num_frames, cfg.height, cfg.width), entries, nets)


def publish(store: ObjectStore, ref: str, source: dict[str, Any], shape: tuple[int, int, int],
            entries: list[tuple[np.ndarray, dict[str, Any]]],
            nets: dict[str, FeatureNet | None] | None = None) -> dict[str, Any]:
    """Write samples (uint8 ``[F, H, W, 3]`` + metadata), real-set statistics of ``nets``, then ``evalset.json``.

    ``shape`` is ``(num_frames, height, width)``; each metadata dict has ``sample_id``, ``clip_id``,
    ``source_id``, ``caption``, ``fps`` and ``motion_bucket``. Returns :func:`describe`'s record.

    Raises:
        EvalSetError: ``ref`` is already published, or ``entries`` is empty.
    """
    key = prefix(ref)
    if store.exists(f"{key}/evalset.json"):
        raise EvalSetError(f"evaluation set {ref} is already published; versions are immutable")
    if not entries:
        raise EvalSetError(f"no samples to build {ref} from ({source})")
    for frames, meta in entries:
        store.put_bytes(f"{key}/samples/{meta['sample_id']}.npz", _npz(frames))
    samples_meta = [meta for _, meta in entries]
    info: dict[str, Any] = {
        "name": ref.split("/")[0], "version": ref.split("/")[1], "kind": "evalset",
        "created_at": datetime.now(UTC).isoformat(), "source": source,
        "height": shape[1], "width": shape[2], "num_frames": shape[0], "samples": samples_meta, "stats": {},
    }
    loaded = _samples(store, key, samples_meta)
    for metric, net in (nets or {}).items():
        if net is None or (metric == "fvd" and len(loaded) < 2):  # FVD fits one row per clip
            continue
        stats_key = f"stats/{metric}-{net.sha256[:16]}.npz"
        store.put_bytes(f"{key}/{stats_key}", GaussianStats.of(real_features(loaded, metric, net)).to_bytes())
        info["stats"][metric] = {"key": stats_key, **net.describe()}
    store.put_bytes(f"{key}/evalset.json", json.dumps(info, indent=2).encode())
    return describe(store, ref)


def _samples(store: ObjectStore, key: str, meta: list[dict[str, Any]]) -> list[EvalSample]:
    import torch

    from evaluation.scoring import EvalSample

    out = []
    for m in meta:
        with np.load(io.BytesIO(store.get_bytes(f"{key}/samples/{m['sample_id']}.npz"))) as z:
            frames = torch.from_numpy(z["frames"].astype(np.float32) / 127.5 - 1.0).permute(0, 3, 1, 2)
        out.append(EvalSample(m["sample_id"], frames.contiguous(), m["fps"], m["motion_bucket"], m["caption"]))
    return out


def _digest(store: ObjectStore, key: str) -> tuple[str, str]:
    with tempfile.TemporaryDirectory(prefix="vf-evalset-") as tmp:
        local = store.local_path(key)
        path = local if local is not None else store.get_dir(key, Path(tmp) / "set")
        return store.uri(key), sha256_tree(path)


def describe(store: ObjectStore, ref: str) -> dict[str, Any]:
    """``{"ref", "uri", "sha256", "samples"}`` of a published set."""
    uri, digest = _digest(store, prefix(ref))
    info = json.loads(store.get_bytes(f"{prefix(ref)}/evalset.json"))
    return {"ref": ref, "uri": uri, "sha256": digest, "samples": len(info["samples"])}


def load_evalset(store: ObjectStore, ref: str, sha256: str = "") -> EvalSet:
    """Load published evaluation set ``ref``; with ``sha256`` refuse a set whose content differs.

    Raises:
        EvalSetError: not published, or the digest differs.
    """
    key = prefix(ref)
    if not store.exists(f"{key}/evalset.json"):
        raise EvalSetError(f"evaluation set {ref} is not published (build it: vidforge evalset REF DATASET)")
    uri, digest = _digest(store, key)
    if sha256 and digest != sha256:
        raise EvalSetError(f"evaluation set {ref}: sha256 {digest} does not match the registered {sha256}")
    info = json.loads(store.get_bytes(f"{key}/evalset.json"))
    return EvalSet(info, _samples(store, key, info["samples"]), uri, digest)


def training_overlap(store: ObjectStore, evalset: EvalSet, dataset: str, holdout_fraction: float) -> dict[str, Any]:
    """Clips and sources the set shares with the clips a model trained on (non-held-out kept clips of ``dataset``).

    Returns ``{"dataset", "clips": [...], "sources": n}``; only shared *clips* make a set unusable
    (sources are shared by design when a set is the held-out split of the same dataset).
    """
    from training.data import split_clips
    from vidforge.dataset import load_dataset

    name, _, version = dataset.partition("/")
    train, _ = split_clips(load_dataset(store, name, version).kept, holdout_fraction)
    ids = {s["clip_id"] for s in evalset.info["samples"]}
    sources = {s["source_id"] for s in evalset.info["samples"]} & set(train.get("source_id", []))
    return {"dataset": dataset, "clips": sorted(ids & set(train["clip_id"])), "sources": len(sources)}
