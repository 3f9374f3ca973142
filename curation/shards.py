"""Curation as shards plus one global step, on the resume cache.

A run is planned into shards of sources (:func:`plan_shards`, fixed size, in
source order). Each shard (:func:`run_shard` — an Airflow mapped task, a Ray
task or a plain loop) runs the *per-source* stages of the profile over its
sources and leaves each finished source, with all its clips, in the resume cache
(:mod:`curation.cache`); it publishes nothing. The global step is the ordinary
:func:`curation.pipeline.curate` over every source: it restores each source from
the cache — running nothing per source again — and runs the dataset-wide stages
(percentile filters, upload, validation, publication) once. A retried shard
restores what it finished before and processes only the rest, so no source is
curated twice and no clip is written twice; the global step uploads each kept
clip once. Shards hand over through the cache, so they need ``pipeline.resume``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from curation.cache import open_cache
from curation.resume import run_resumable, split_stages
from curation.runner import batches

if TYPE_CHECKING:
    from curation.config import CurationConfig
    from vidforge.store import ObjectStore


def plan_shards(sources: Sequence[str], shard_size: int) -> list[list[str]]:
    """``sources`` in order, ``shard_size`` at a time (the last shard may be smaller). Raises ValueError."""
    if shard_size < 1:
        raise ValueError(f"shard_size must be at least 1, got {shard_size}")
    return [list(chunk) for chunk in batches(list(sources), shard_size)]


def run_shard(sources: Sequence[str], *, store: ObjectStore, name: str, version: str,
              config: CurationConfig) -> dict[str, Any]:
    """Run the per-source stages over one shard's ``sources`` and cache every finished source.

    Returns the shard's :class:`~curation.resume.ResumeStats` as a dict (``restored``: finished by an
    earlier try, ``processed``: run now, ``duplicates``).

    With ``pipeline.resume`` off there is no cache to hand results over in: the shard does nothing
    and says so (``skipped``), and the global step curates every source itself.

    Raises:
        Exception: a transient error of the runner; the sources finished before it stay cached.
    """
    from curation.builders import build_stages
    from curation.pipeline import closed_after, runner_for, source_items, source_settings
    from vidforge.dataset import dataset_prefix

    cache = open_cache(store, config)
    if cache is None:
        return {"skipped": "pipeline.resume is off: the global step curates every source", "processed": 0}
    runner = runner_for(config, progress=False)
    scratch = config.ray.shared_dir if config.pipeline.runner == "ray" else ""
    with tempfile.TemporaryDirectory(prefix="vidforge-shard-", dir=scratch or None) as tmp, closed_after(runner):
        items = source_items(sources, Path(tmp) / "sources", source_settings(store))
        per_source, _ = split_stages(build_stages(config, tmp, store, dataset_prefix(name, version)))
        _, stats = run_resumable(per_source, items, runner, cache=cache, chunk_sources=config.pipeline.chunk_sources,
                                 restore_dir=Path(tmp) / "restored", dedup=config.pipeline.dedup_sources)
    return asdict(stats)
