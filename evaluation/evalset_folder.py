"""Evaluation sets from a folder of reference videos (a local directory or an object-store prefix).

For teams whose evaluation clips are not a curated dataset version: every video
file in the folder (``.mp4``, ``.mkv``, ``.webm``, ``.mov``, ``.avi``; sorted by
name) becomes one sample. Its first ``num_frames`` decoded frames are resized to
the final training stage's resolution; a sidecar ``<stem>.json`` may give
``caption``, ``motion_bucket`` (default 127) and ``fps`` (default: the stream's).
A file that cannot be decoded or is shorter than ``num_frames`` is skipped and
named in the set's ``source.skipped`` — nothing is dropped silently.
"""

from __future__ import annotations

import io
import json
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np

from evaluation.evalset import publish

if TYPE_CHECKING:
    from evaluation.config import EvalConfig
    from evaluation.metrics.feature_net import FeatureNet
    from vidforge.settings import Settings
    from vidforge.store import ObjectStore

VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".mov", ".avi")
DEFAULT_MOTION_BUCKET = 127.0


def decode_reference(data: bytes, num_frames: int, height: int, width: int) -> tuple[np.ndarray, float]:
    """The first ``num_frames`` frames as uint8 ``[F, height, width, 3]`` and the stream's frame rate.

    Raises:
        ValueError: the video has fewer than ``num_frames`` frames, or no video stream.
    """
    import av
    import cv2

    frames: list[np.ndarray] = []
    with av.open(io.BytesIO(data)) as container:
        if not container.streams.video:
            raise ValueError("no video stream")
        stream = container.streams.video[0]
        fps = float(stream.average_rate or stream.guessed_rate or 0) or 8.0
        for frame in container.decode(stream):
            rgb = frame.to_ndarray(format="rgb24")
            frames.append(cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA))
            if len(frames) == num_frames:
                break
    if len(frames) < num_frames:
        raise ValueError(f"{len(frames)} frames, the set needs {num_frames}")
    return np.stack(frames), fps


def _listing(folder: str, settings: Settings) -> tuple[ObjectStore, list[str]]:
    from vidforge.store import LocalStore, open_uri

    if "://" not in folder:
        store: ObjectStore = LocalStore(Path(folder).expanduser().resolve())
        return store, sorted(store.list(""))
    store, key = open_uri(folder.rstrip("/"), settings.store)
    return store, sorted(store.list(key))


def build_from_folder(settings: Settings, ref: str, folder: str, config: EvalConfig,
                      nets: dict[str, FeatureNet | None] | None = None) -> dict[str, Any]:
    """Build and publish evaluation set ``ref`` from the videos in ``folder`` (path or store URI).

    Up to ``config.max_clips`` videos, sized as ``config.final_stage`` trains; see the module docstring.

    Raises:
        EvalSetError: ``ref`` is already published, or no video in ``folder`` could be used.
    """
    from training.config import load_stage_config
    from vidforge.store import open_store

    cfg = load_stage_config(config.final_stage)
    source_store, keys = _listing(folder, settings)
    entries: list[tuple[np.ndarray, dict[str, Any]]] = []
    skipped: dict[str, str] = {}
    for key in keys:
        path = PurePosixPath(key)
        if path.suffix.lower() not in VIDEO_SUFFIXES or len(entries) >= config.max_clips:
            continue
        sidecar_key = str(path.with_suffix(".json"))
        side = json.loads(source_store.get_bytes(sidecar_key)) if sidecar_key in keys else {}
        try:
            frames, fps = decode_reference(source_store.get_bytes(key), cfg.num_frames, cfg.height, cfg.width)
        except Exception as exc:  # a bad file is named in the record, the others still make the set
            skipped[path.name] = f"{type(exc).__name__}: {exc}"
            continue
        entries.append((frames, {
            "sample_id": path.stem, "clip_id": path.stem, "source_id": path.name,
            "caption": str(side.get("caption", "")), "fps": float(side.get("fps", fps)),
            "motion_bucket": float(side.get("motion_bucket", DEFAULT_MOTION_BUCKET)),
        }))
    source = {"kind": "folder", "folder": folder, "skipped": skipped}
    return publish(open_store(settings.store), ref, source, (cfg.num_frames, cfg.height, cfg.width), entries, nets)
