"""Helpers for training tests: a tiny published dataset of synthetic clips.

Clips are short mp4s (PyAV, libx264) of a coloured square moving over a
gradient at a per-clip speed; ``motion_score`` is that speed, so stage III's
top-fraction selection has something to rank. One clip is ``filtered`` and
must never be trained on.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import torch

from vidforge.dataset import (
    CLIP_SCHEMA,
    DatasetInfo,
    dataset_prefix,
    motion_bucket,
    table_to_parquet_bytes,
    write_dataset_info,
)
from vidforge.store import ObjectStore

DATASET = "tiny"
VERSION = "v1"
CLIP_FPS = 14
CLIP_FRAMES = 16
CLIP_SIZE = (48, 64)  # height, width
#: (clip_id, speed in px/frame, status); speeds double as motion scores.
CLIPS = [
    ("clip-a", 0.5, "kept"),
    ("clip-b", 1.0, "kept"),
    ("clip-c", 1.5, "kept"),
    ("clip-d", 2.0, "kept"),
    ("clip-e", 2.5, "kept"),
    ("clip-f", 3.0, "kept"),
    ("clip-x", 4.0, "filtered"),
]


def square_frames(speed: float, seed: int, n: int = CLIP_FRAMES, size: tuple[int, int] = CLIP_SIZE) -> np.ndarray:
    """uint8 [n, H, W, 3]: a coloured 12-px square moving right by ``speed`` px/frame."""
    rng = np.random.default_rng(seed)
    h, w = size
    colour = rng.integers(60, 256, size=3)
    base = np.linspace(0, 80, w, dtype=np.float64)[None, :, None] * np.ones((h, 1, 3))
    frames = np.empty((n, h, w, 3), dtype=np.uint8)
    for i in range(n):
        img = base.copy()
        x = int(4 + speed * i) % (w - 12)
        y = h // 2 - 6
        img[y : y + 12, x : x + 12] = colour
        frames[i] = img.astype(np.uint8)
    return frames


def encode_mp4(frames: np.ndarray, fps: int = CLIP_FPS) -> bytes:
    """uint8 [N, H, W, 3] → mp4 bytes (H.264, yuv420p)."""
    import av

    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "18", "preset": "ultrafast"}
        for arr in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def publish_tiny_dataset(store: ObjectStore, name: str = DATASET, version: str = VERSION) -> DatasetInfo:
    """Write clips, manifest and dataset.json (last) of a tiny dataset version."""
    prefix = dataset_prefix(name, version)
    edges = sorted(speed for _, speed, status in CLIPS if status == "kept")
    rows = []
    for i, (clip_id, speed, status) in enumerate(CLIPS):
        uri = store.put_bytes(f"{prefix}/clips/{clip_id}.mp4", encode_mp4(square_frames(speed, seed=i)))
        rows.append(
            {
                "clip_id": clip_id, "source_id": f"src-{i}", "source_uri": f"file:///raw/{i}.mp4",
                "start_frame": 0, "end_frame": CLIP_FRAMES, "start_s": 0.0, "end_s": CLIP_FRAMES / CLIP_FPS,
                "fps": float(CLIP_FPS), "width": CLIP_SIZE[1], "height": CLIP_SIZE[0], "uri": uri,
                "caption_image": "a square", "caption_video": "a moving square",
                "caption_summary": "a square moves", "motion_score": speed,
                "motion_bucket": motion_bucket(speed, edges), "text_area": 0.0, "aesthetic": 5.0,
                "clip_similarity": 0.3, "status": status, "reason": "" if status == "kept" else "motion:low",
            }
        )
    table = pa.Table.from_pylist(rows, schema=CLIP_SCHEMA)
    store.put_bytes(f"{prefix}/manifest.parquet", table_to_parquet_bytes(table))
    kept = sum(1 for *_, s in CLIPS if s == "kept")
    info = DatasetInfo(
        name=name, version=version, created_at=datetime.now(UTC).isoformat(), inputs=len(CLIPS),
        clips_in=len(CLIPS), clips_kept=kept, clips_filtered=len(CLIPS) - kept, clips_quarantined=0,
        sources_quarantined=0, motion_bucket_edges=edges,
    )
    write_dataset_info(store, info)
    return info


def video_batch(b: int = 2, f: int = 3, h: int = 32, w: int = 32, seed: int = 0) -> torch.Tensor:
    """Random frames [B, F, 3, H, W] in [-1, 1]."""
    return torch.rand(b, f, 3, h, w, generator=torch.Generator().manual_seed(seed)) * 2 - 1
