"""Publishing a curated dataset version: manifest, quarantine list, clip pruning, ``dataset.json`` last."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from curation.config import ValidationConfig
from curation.datacard import write_datacard
from curation.items import ClipItem, Item, SourceItem
from curation.stages.upload import clip_key
from curation.validation import ManifestValidationError, validate_manifest
from vidforge.dataset import (
    CLIP_SCHEMA,
    QUARANTINE_SCHEMA,
    DatasetInfo,
    Status,
    dataset_prefix,
    motion_bucket,
    table_to_parquet_bytes,
    write_dataset_info,
)

if TYPE_CHECKING:
    from vidforge.store import ObjectStore


def motion_edges(scores: Sequence[float], n: int) -> list[float]:
    """``n`` ascending quantile edges (at k/(n+1), k=1..n) of ``scores``; [] when there are none."""
    if not scores:
        return []
    qs = np.quantile(np.asarray(scores, dtype=np.float64), [k / (n + 1) for k in range(1, n + 1)])
    return [float(q) for q in qs]


def manifest_table(clips: Sequence[ClipItem]) -> pa.Table:
    """One row per clip (any status), exactly ``CLIP_SCHEMA``."""
    return pa.Table.from_pylist([c.record() for c in clips], schema=CLIP_SCHEMA)


def quarantine_table(sources: Sequence[SourceItem]) -> pa.Table:
    """One row per source that did not survive (``QUARANTINE_SCHEMA``)."""
    rows = [
        {"source_id": s.source_id, "source_uri": s.source_uri, "stage": s.reason.split(":", 1)[0],
         "reason": s.reason, "error": s.error}
        for s in sources if not s.kept
    ]
    return pa.Table.from_pylist(rows, schema=QUARANTINE_SCHEMA)


def _count(items: Sequence[Item], status: Status) -> int:
    return sum(1 for it in items if it.status == status)


def publish(
    store: ObjectStore, name: str, version: str, items: Sequence[Item], *, bucket_edges: int,
    config: dict[str, Any], extra: dict[str, Any] | None = None, code_version: str = "",
    validation: ValidationConfig | None = None,
) -> DatasetInfo:
    """Write ``manifest.parquet``, ``quarantine.parquet`` and ``validation.json``; when the manifest
    passes its suite, delete clips of earlier runs that are not kept now, write ``datacard.{json,html}``,
    then publish ``dataset.json`` (last: its presence means "published").

    Sets each clip's ``motion_bucket`` from the edges of the kept clips' scores.

    Args:
        validation: the manifest suite's settings (default: :class:`ValidationConfig` defaults).

    Raises:
        AssertionError: sources or clips do not satisfy inputs = kept + filtered + quarantined.
        ManifestValidationError: the manifest failed its expectations (naming them, with example
            rows); ``validation.json`` is written, ``dataset.json`` is not.
    """
    prefix = dataset_prefix(name, version)
    sources = [it for it in items if isinstance(it, SourceItem)]
    clips = [it for it in items if isinstance(it, ClipItem)]
    kept = [c for c in clips if c.kept]
    edges = motion_edges([c.motion_score for c in kept if c.motion_score is not None], bucket_edges)
    for clip in clips:
        clip.motion_bucket = None if clip.motion_score is None else motion_bucket(clip.motion_score, edges)
    info = DatasetInfo(
        name=name, version=version, created_at=datetime.now(UTC).isoformat(),
        inputs=len(sources), clips_in=len(clips), clips_kept=len(kept),
        clips_filtered=_count(clips, Status.FILTERED), clips_quarantined=_count(clips, Status.QUARANTINED),
        sources_quarantined=_count(sources, Status.QUARANTINED), motion_bucket_edges=edges,
        config=config, code_version=code_version, extra=extra or {},
    )
    assert info.inputs == sum(_count(sources, s) for s in Status), "source accounting broken"
    assert info.clips_in == info.clips_kept + info.clips_filtered + info.clips_quarantined
    table = manifest_table(clips)
    store.put_bytes(f"{prefix}/manifest.parquet", table_to_parquet_bytes(table))
    store.put_bytes(f"{prefix}/quarantine.parquet", table_to_parquet_bytes(quarantine_table(sources)))
    manifest = table.to_pandas()
    report = validate_manifest(manifest, validation)
    store.put_bytes(f"{prefix}/validation.json", report.to_json())
    if not report.success:
        for stale in ("datacard.json", "datacard.html"):  # an earlier run's card must not outlive it
            store.delete(f"{prefix}/{stale}")
        raise ManifestValidationError(f"{name}/{version}", report)
    live = {clip_key(prefix, c.clip_id) for c in kept}
    for key in store.list(f"{prefix}/clips"):
        if key not in live:
            store.delete(key)
    write_datacard(store, info, manifest, report, {c.clip_id: c.clip_path for c in kept if c.clip_path})
    write_dataset_info(store, info)
    return info
