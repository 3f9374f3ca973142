"""Resumable curation: the per-source stages run in chunks, and every finished source is cached.

The stage list splits at its first ``whole_dataset`` stage (:func:`split_stages`):
the *per-source* prefix (probe … the last signal stage) depends only on one
source's bytes and the configuration, so its results are cached per source
(:mod:`curation.cache`); the *dataset-wide* rest (filters, upload) sees every
clip at once and always runs. A stage added before the first ``whole_dataset``
stage is per-source, and cached, without further ado.

:func:`run_resumable`:

1. validates the whole stage list (a bad profile fails before any work);
2. restores every source that has a complete cache entry: it skips the prefix;
3. runs the other sources through the prefix in chunks of ``chunk_sources``; as
   each chunk finishes, each of its sources (kept or quarantined, with all its
   clips) is cached, so a run that dies later loses no finished chunk. A transient
   error propagates out of the runner (:func:`curation.runner.run_stage`) and
   leaves its chunk uncached;
4. runs the rest once over all items, in the order a single un-chunked run gives
   (sources, then each source's clips), behind a stand-in stage that declares what
   the prefix populated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

from curation.cache import SourceCache, content_hash
from curation.dedup import mark_duplicates
from curation.items import Item, SourceItem
from curation.runner import Runner, batches, validate_pipeline
from curation.stages.base import Resources, Stage
from vidforge.logging import get_logger

log = get_logger(__name__)


@dataclass
class ResumeStats:
    """How a run got its per-source results (``info.extra["resume"]``).

    Attributes:
        config_hash: the cache's config hash ("" when resuming is off).
        restored: sources restored from the cache (no per-source stage ran for them).
        processed: sources that ran through the per-source stages.
        uncacheable: processed sources whose bytes could not be read (never cached).
        chunks: runner calls for the per-source stages.
        duplicates: sources filtered as byte-for-byte duplicates of an earlier one (never processed).
    """

    config_hash: str = ""
    restored: int = 0
    processed: int = 0
    uncacheable: int = 0
    chunks: int = 0
    duplicates: int = 0

    def to_dict(self) -> dict[str, int | str]:
        """JSON-able form."""
        return asdict(self)


def split_stages(stages: Sequence[Stage]) -> tuple[list[Stage], list[Stage]]:
    """``(per_source, rest)``: the stages before the first ``whole_dataset`` stage, and the others."""
    cut = next((i for i, stage in enumerate(stages) if stage.whole_dataset), len(stages))
    return list(stages[:cut]), list(stages[cut:])


class _PerSourceDone(Stage, abstract=True):
    """Stand-in for the per-source stages in the dataset-wide run: their results are already there."""

    name: ClassVar[str] = "per_source"
    requires: ClassVar[frozenset[str]] = frozenset()
    populates: ClassVar[frozenset[str]] = frozenset()
    resources: ClassVar[Resources] = Resources(cpus=0.0)
    consumes: ClassVar[type[Item]] = SourceItem

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)

    def process(self, batch: list[Item]) -> list[Item]:
        """Nothing to do: returns the batch."""
        return batch

    def describe(self) -> str:
        """One line naming the stages it stands for."""
        return f"per_source: results of {self.names} (this run's chunks or the cache) → {sorted(self.populates)}"

    def __reduce__(self) -> tuple[Any, tuple[list[str], frozenset[str]]]:
        """Pickle by rebuilding (the class is made per pipeline, so it cannot be found by name)."""
        return _per_source_done, (self.names, self.populates)


def _per_source_done(names: list[str], populated: frozenset[str]) -> Stage:
    cls = type("PerSourceDone", (_PerSourceDone,), {"populates": populated, "__module__": __name__})
    return cls(names)  # type: ignore[no-any-return]


def per_source_done(per_source: Sequence[Stage]) -> Stage:
    """A no-op stage that declares every field ``per_source`` populates, so the rest validates alone.

    Its class is made per call (``populates`` is a class attribute of the stage contract).
    """
    return _per_source_done([stage.name for stage in per_source],
                            frozenset().union(*(stage.populates for stage in per_source)))


def _by_source(items: Sequence[Item]) -> dict[str, list[Item]]:
    """Items grouped by ``source_id``: the source first, then its other items in order."""
    groups: dict[str, list[Item]] = {}
    for item in sorted(items, key=lambda it: not isinstance(it, SourceItem)):  # stable: sources first
        groups.setdefault(item.source_id, []).append(item)  # type: ignore[attr-defined]
    return groups


def _hash(source: SourceItem) -> str | None:
    try:
        return content_hash(source.source_path)
    except OSError:
        return None  # missing or unreadable: the probe quarantines it; nothing to key a cache entry on


def run_resumable(
    stages: Sequence[Stage], sources: Sequence[SourceItem], runner: Runner, *, cache: SourceCache | None,
    chunk_sources: int, restore_dir: str | Path, dedup: bool = False,
) -> tuple[list[Item], ResumeStats]:
    """Run ``stages`` over ``sources``, restoring and caching per-source results (see the module docstring).

    Args:
        cache: where per-source results are restored from and written to; None: neither (chunks still apply).
        chunk_sources: sources per runner call of the per-source stages (≥ 1).
        restore_dir: local directory restored clip files are written to (below ``<source_id>/``).
        dedup: filter sources with the bytes of an earlier one before any stage (:mod:`curation.dedup`);
            the content hash is computed once for both this and the cache.

    Returns:
        Every item (sources, then each source's clips in order) and how they were obtained.

    Raises:
        curation.runner.PipelineError: the stages cannot run in this order.
        Exception: whatever the runner raises (transient errors); finished chunks stay cached.
    """
    validate_pipeline(stages)
    per_source, rest = split_stages(stages)
    stats = ResumeStats(config_hash=cache.config_hash if cache else "")
    results: dict[str, list[Item]] = {}
    hashes: dict[str, str | None] = {}
    todo: list[SourceItem] = []
    for source in sources:
        hashes[source.source_id] = _hash(source) if dedup or (cache and per_source) else None
    duplicates = mark_duplicates(sources, hashes) if dedup else []
    for source in duplicates:
        results[source.source_id] = [source]
    stats.duplicates = len(duplicates)
    for source in sources:
        digest = hashes[source.source_id] if cache and per_source else None
        if source.source_id in results:
            continue
        restored = cache.load(source, digest, restore_dir) if cache and digest else None
        if restored:
            results[source.source_id] = restored
        else:
            todo.append(source)
    stats.restored = len(results) - stats.duplicates
    log.info("per-source results", restored=stats.restored, to_process=len(todo), config_hash=stats.config_hash)
    if not per_source:
        stats.processed = len(todo)
        return [*runner.run(stages, list(todo)), *duplicates], stats
    for chunk in batches(todo, chunk_sources):
        groups = _by_source(runner.run(per_source, list(chunk)))
        stats.chunks += 1
        for source in chunk:
            group = results[source.source_id] = groups[source.source_id]
            digest = hashes[source.source_id]
            if cache and digest:
                assert isinstance(group[0], SourceItem)
                cache.save(group[0], group[1:], digest)
            stats.uncacheable += cache is not None and digest is None
        stats.processed += len(chunk)
        log.info("chunk done", chunk=stats.chunks, sources=len(chunk), cached=cache is not None,
                 remaining=len(todo) - stats.processed)
    ordered = [results[s.source_id] for s in sources]
    items = [group[0] for group in ordered] + [item for group in ordered for item in group[1:]]
    if rest:
        items = runner.run([per_source_done(per_source), *rest], items)
    return items, stats
