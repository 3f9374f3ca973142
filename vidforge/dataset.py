"""The dataset contract where curation (writer) and training (reader) meet.

A dataset version lives under ``datasets/<name>/<version>/`` in the object store::

    clips/<clip_id>.mp4     stream-copied clips
    manifest.parquet        one row per clip (CLIP_FIELDS), every signal + status
    quarantine.parquet      inputs that failed, with the error
    dataset.json            DatasetInfo, written last: its presence means "published"

Training reads only through :func:`load_dataset`; it never imports ``curation``.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:
    import pandas as pd

    from vidforge.store import ObjectStore


class Status(StrEnum):
    """Where an item ended: every input ends in exactly one of these."""

    KEPT = "kept"
    FILTERED = "filtered"
    QUARANTINED = "quarantined"


#: The clip record: one manifest row. ``[start_frame, end_frame)`` (exclusive end) is the span of source
#: frames the clip file holds; it lies inside its shot ``[shot_start_frame, shot_end_frame)``.
CLIP_SCHEMA = pa.schema(
    [
        ("clip_id", pa.string()),
        ("source_id", pa.string()),
        ("source_uri", pa.string()),
        ("start_frame", pa.int64()),
        ("end_frame", pa.int64()),
        ("shot_start_frame", pa.int64()),  # the shot [shot_start_frame, shot_end_frame) the clip lies in
        ("shot_end_frame", pa.int64()),
        ("start_s", pa.float64()),
        ("end_s", pa.float64()),
        ("fps", pa.float64()),
        ("width", pa.int64()),
        ("height", pa.int64()),
        ("rotation", pa.int64()),  # display rotation of the clip file, counter-clockwise degrees
        ("uri", pa.string()),
        ("write_mode", pa.string()),  # how the clip file was written: copy | smart_cut | reencode
        ("codec", pa.string()),  # the clip file's video codec (FFmpeg name)
        ("size_bytes", pa.int64()),  # the clip file's size
        ("sha256", pa.string()),  # the clip file's sha256 (hex)
        ("caption_image", pa.string()),
        ("caption_video", pa.string()),
        ("caption_summary", pa.string()),
        ("motion_score", pa.float64()),
        ("motion_bucket", pa.int64()),
        ("text_area", pa.float64()),
        ("aesthetic", pa.float64()),
        ("clip_similarity", pa.float64()),
        ("status", pa.string()),
        ("reason", pa.string()),
        ("error", pa.string()),  # the error of a quarantined clip ("" otherwise)
    ]
)
CLIP_FIELDS: tuple[str, ...] = tuple(CLIP_SCHEMA.names)

#: One row per input that could not be processed at all.
QUARANTINE_SCHEMA = pa.schema(
    [
        ("source_id", pa.string()),
        ("source_uri", pa.string()),
        ("stage", pa.string()),
        ("reason", pa.string()),
        ("error", pa.string()),
    ]
)


@dataclass
class DatasetInfo:
    """``dataset.json``: what a dataset version is and how it was made."""

    name: str
    version: str
    created_at: str
    inputs: int
    clips_in: int
    clips_kept: int
    clips_filtered: int
    clips_quarantined: int
    sources_quarantined: int
    #: Ascending motion-score edges: bucket = 255 * rank of score among edges.
    motion_bucket_edges: list[float] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    code_version: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def dataset_prefix(name: str, version: str) -> str:
    """Object-store prefix of a dataset version."""
    return f"datasets/{name}/{version}"


def table_to_parquet_bytes(table: pa.Table) -> bytes:
    """Serialise a table to Parquet bytes."""
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def read_parquet_bytes(data: bytes) -> pd.DataFrame:
    """Parquet bytes → pandas DataFrame."""
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(data)).to_pandas()


@dataclass
class Dataset:
    """A published dataset version, read from the object store."""

    info: DatasetInfo
    manifest: pd.DataFrame
    store: ObjectStore

    @property
    def kept(self) -> pd.DataFrame:
        """Manifest rows with status ``kept``."""
        return self.manifest[self.manifest["status"] == Status.KEPT.value].reset_index(drop=True)


def write_dataset_info(store: ObjectStore, info: DatasetInfo) -> str:
    """Publish ``dataset.json`` (do this last); return its URI."""
    key = f"{dataset_prefix(info.name, info.version)}/dataset.json"
    return store.put_bytes(key, json.dumps(asdict(info), indent=2).encode())


def load_dataset(store: ObjectStore, name: str, version: str) -> Dataset:
    """Read a published dataset version.

    Raises:
        FileNotFoundError: the version does not exist or is not published yet.
    """
    prefix = dataset_prefix(name, version)
    if not store.exists(f"{prefix}/dataset.json"):
        raise FileNotFoundError(f"dataset {name}/{version} is not published at {store.uri(prefix)}")
    info = DatasetInfo(**json.loads(store.get_bytes(f"{prefix}/dataset.json")))
    manifest = read_parquet_bytes(store.get_bytes(f"{prefix}/manifest.parquet"))
    return Dataset(info=info, manifest=manifest, store=store)


def motion_bucket(score: float, edges: list[float]) -> int:
    """Map a motion score to ``motion_bucket_id`` in 0..255 with the dataset's edges.

    ``edges`` are ascending quantiles of the dataset's motion scores; the bucket
    is the fraction of edges below ``score`` scaled to 0..255, so training and
    serving share one mapping.
    """
    if not edges:
        return 127
    import bisect

    rank = bisect.bisect_left(edges, score)
    return round(255 * rank / len(edges))
