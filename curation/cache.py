"""The per-source result cache: what the per-source stages made of one source, kept in the object store.

One entry per (config hash, content hash, source id)::

    <prefix>/<config_hash>/<content_hash>/<source_id>/
        clips/<clip_id>.mp4     every clip file the clip stage wrote (any status)
        items.json              {"format", "source": {...}, "items": [{...}, ...]}: every field of the
                                source and of its clips (status, reason, error, spans, signals)
        complete.json           {"format", "files": {relative path: sha256}, "code_version",
                                "written_at"}: written last

An entry is *complete* only when ``complete.json`` exists; writing an entry first
deletes its marker, so a crash mid-write never leaves an entry that looks
complete. A restore checks every file against the sha256 in the marker and
treats a mismatch as a miss.

- **content hash** (:func:`content_hash`): sha256 of the source file's bytes
  (streamed) and, when the source has one, of its caption sidecar
  (:func:`curation.sidecar.sidecar_path`), which the caption stage reads.
- **config hash** (:func:`config_hash`): sha256 of every configuration section
  except :data:`NOT_PER_SOURCE` (dataset-wide filters, publishing, validation,
  runner settings) — a new section counts by default — plus the digest of the
  ``curation`` package's source (:func:`code_digest`), so a change of a stage's
  code is never answered with results of the old code. Execution knobs inside a
  per-source section (``threads``, ``decode_threads``, ``batch_size``, ``device``)
  count too: conservative, a changed one re-processes.
- The entry sits under the source id (derived from the source URI) as well, so
  the same bytes at two URIs keep two entries (their clip ids differ).

Transient decoded ``frames`` are not stored.

Every config or curation-code change starts a new ``<config_hash>/`` tree (a
*generation*) and nothing deletes the old ones while curating: a generation is
listed by :func:`cache_generations` and deleted by :func:`prune_cache`, which
``vidforge curate-cache-prune`` runs (default: keep only the generation the given
profile would use now; ``--keep HASH`` keeps more, ``--all`` keeps none,
``--dry-run`` deletes nothing). The current hash includes the digest of the
*installed* curation code, so prune from the same code version that curates, and
not while a run with another configuration is writing its entries.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from curation.items import ClipItem, Item, SourceItem
from curation.sidecar import sidecar_path
from vidforge.dataset import Status
from vidforge.digest import sha256_file
from vidforge.logging import get_logger
from vidforge.version import code_version

if TYPE_CHECKING:
    from curation.config import CurationConfig
    from vidforge.store import ObjectStore

log = get_logger(__name__)

#: Version of the entry layout; bumping it invalidates every entry.
CACHE_FORMAT = 1
#: Configuration sections that do not change what the per-source stages produce.
NOT_PER_SOURCE: frozenset[str] = frozenset({"filter", "validation", "pipeline", "ray"})
#: Written last: its presence means "complete".
MARKER = "complete.json"
ITEMS = "items.json"
#: Item fields never stored (decoded frames live only between the signal stages).
TRANSIENT_FIELDS: frozenset[str] = frozenset({"frames"})
_TYPES: dict[str, type[Item]] = {SourceItem.level: SourceItem, ClipItem.level: ClipItem}


def content_hash(source_path: str | Path) -> str:
    """Hex sha256 of the source's bytes, and of its sidecar's when there is one.

    Raises:
        OSError: the source cannot be read (such a source is not cacheable).
    """
    h = hashlib.sha256(sha256_file(source_path).encode())
    sidecar = sidecar_path(source_path)
    if sidecar.is_file():
        h.update(b"\0sidecar\0")
        h.update(sha256_file(sidecar).encode())
    return h.hexdigest()


@functools.cache
def code_digest() -> str:
    """Hex sha256 of every ``.py`` file of the ``curation`` package (relative path and bytes).

    Computed once per process.
    """
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def per_source_config(config: CurationConfig) -> dict[str, Any]:
    """The configuration sections that affect per-source results (all but :data:`NOT_PER_SOURCE`)."""
    return {k: v for k, v in config.model_dump(mode="json").items() if k not in NOT_PER_SOURCE}


def config_hash(config: CurationConfig, code: str | None = None) -> str:
    """A stable 16-hex-digit hash of :func:`per_source_config`, the cache format and ``code``.

    Args:
        code: the code digest (default :func:`code_digest`).
    """
    payload = {"format": CACHE_FORMAT, "config": per_source_config(config),
               "code": code if code is not None else code_digest()}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def _json_value(value: Any) -> Any:
    if isinstance(value, Status):
        return value.value
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    return value


def item_record(item: Item) -> dict[str, Any]:
    """Every stored field of ``item`` plus its ``level`` (JSON-able)."""
    record = {f.name: _json_value(getattr(item, f.name)) for f in dataclasses.fields(item)
              if f.name not in TRANSIENT_FIELDS}
    return {"level": item.level, **record}


def item_from_record(record: dict[str, Any]) -> Item:
    """The item :func:`item_record` described.

    Raises:
        KeyError: unknown level; TypeError: a field the item type does not have.
    """
    fields = dict(record)
    cls = _TYPES[fields.pop("level")]
    fields["status"] = Status(fields["status"])
    return cls(**fields)


class SourceCache:
    """Complete per-source entries under ``<prefix>/<config_hash>/`` in ``store``."""

    def __init__(self, store: ObjectStore, prefix: str, config_hash: str) -> None:
        self.store = store
        self.prefix = prefix.strip("/")
        self.config_hash = config_hash

    def entry(self, source_id: str, content: str) -> str:
        """The key prefix of one entry."""
        return f"{self.prefix}/{self.config_hash}/{content}/{source_id}"

    def load(self, source: SourceItem, content: str, restore_dir: str | Path) -> list[Item] | None:
        """The cached source and clips of ``source``, or None when there is no complete, intact entry.

        Clip files are downloaded to ``restore_dir/<source_id>/`` and ``clip_path`` points there;
        ``source_path`` is the current one (a fetched source lives in a new temp dir each run).
        """
        entry = self.entry(source.source_id, content)
        try:
            files: dict[str, str] = json.loads(self.store.get_bytes(f"{entry}/{MARKER}"))["files"]
            data = self.store.get_bytes(f"{entry}/{ITEMS}")
        except FileNotFoundError:  # no entry, or one pruned or deleted while it was being read
            return None
        except (KeyError, TypeError, ValueError) as e:
            log.warning("cache marker unreadable, re-processing", entry=entry, error=repr(e))
            return None
        if hashlib.sha256(data).hexdigest() != files.get(ITEMS):
            log.warning("cache entry damaged, re-processing", entry=entry, file=ITEMS)
            return None
        try:
            payload = json.loads(data)
            items = [item_from_record(r) for r in [payload["source"], *payload["items"]]]
        except (KeyError, TypeError, ValueError) as e:
            log.warning("cache entry unreadable, re-processing", entry=entry, error=repr(e))
            return None
        for item in items:
            if isinstance(item, SourceItem | ClipItem):
                item.source_path = source.source_path
            if isinstance(item, ClipItem) and item.clip_path:
                rel = f"clips/{Path(item.clip_path).name}"
                item.clip_path = str(Path(restore_dir) / source.source_id / Path(item.clip_path).name)
                if rel in files and not self._fetch(entry, rel, files[rel], item.clip_path):
                    return None
        return items

    def _fetch(self, entry: str, rel: str, sha256: str, dest: str) -> bool:
        try:
            self.store.get_file(f"{entry}/{rel}", dest)
        except FileNotFoundError:
            log.warning("cache entry incomplete, re-processing", entry=entry, missing=rel)
            return False
        if sha256_file(dest) != sha256:
            log.warning("cache entry damaged, re-processing", entry=entry, file=rel)
            return False
        return True

    def save(self, source: SourceItem, items: Sequence[Item], content: str) -> None:
        """Write the entry of ``source`` and its descendant ``items`` (marker last).

        Args:
            items: every item of the source but the source itself (its clips), in order.
        """
        entry = self.entry(source.source_id, content)
        self.store.delete(f"{entry}/{MARKER}")  # first: a half-rewritten entry must not look complete
        self.store.delete_prefix(entry)
        files: dict[str, str] = {}
        for item in items:
            path = Path(item.clip_path) if isinstance(item, ClipItem) and item.clip_path else None
            if path is not None and path.is_file():
                rel = f"clips/{path.name}"
                self.store.put_file(path, f"{entry}/{rel}")
                files[rel] = sha256_file(path)
        payload = {"format": CACHE_FORMAT, "source": item_record(source), "items": [item_record(i) for i in items]}
        data = json.dumps(payload, sort_keys=True).encode()
        self.store.put_bytes(f"{entry}/{ITEMS}", data)
        files[ITEMS] = hashlib.sha256(data).hexdigest()
        marker = {"format": CACHE_FORMAT, "files": files, "code_version": code_version(),
                  "written_at": datetime.now(UTC).isoformat()}
        self.store.put_bytes(f"{entry}/{MARKER}", json.dumps(marker, indent=2, sort_keys=True).encode())


def open_cache(store: ObjectStore, config: CurationConfig) -> SourceCache | None:
    """The cache ``config.pipeline`` asks for in ``store`` (None when ``resume`` is off)."""
    if not config.pipeline.resume:
        return None
    return SourceCache(store, config.pipeline.cache_prefix, config_hash(config))


@dataclasses.dataclass(frozen=True)
class CacheGeneration:
    """One ``<prefix>/<config_hash>/`` tree, as :func:`cache_generations` found it.

    Attributes:
        config_hash: the tree's name (a :func:`config_hash`).
        entries: source entries (``<content_hash>/<source_id>/`` directories) holding any object.
        complete: entries holding a :data:`MARKER`.
        objects: objects in the tree (every file of every entry, complete or not).
        newest: the latest ``written_at`` among its readable markers (None when there is none).
    """

    config_hash: str
    entries: int
    complete: int
    objects: int
    newest: datetime | None


def _cache_prefix(prefix: str) -> str:
    prefix = prefix.strip("/")
    if not prefix:  # an empty prefix would make every top-level key of the store a "generation"
        raise ValueError("the cache prefix must not be empty")
    return prefix


def _written_at(store: ObjectStore, key: str) -> datetime | None:
    """The marker's ``written_at`` (None when it cannot be read or parsed)."""
    try:
        when = datetime.fromisoformat(json.loads(store.get_bytes(key))["written_at"])
    except (FileNotFoundError, KeyError, TypeError, ValueError) as e:  # a marker deleted since the listing, or damaged
        log.warning("cache marker unreadable", key=key, error=repr(e))
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)  # naive: comparable with the rest


def cache_generations(store: ObjectStore, prefix: str) -> list[CacheGeneration]:
    """Every generation under ``prefix`` in ``store``, newest first (those without a marker last, by hash).

    Derived from one listing of ``prefix`` plus one read per marker. An object directly under
    ``prefix/`` belongs to no generation; one inside a generation but outside any entry counts
    in its ``objects`` only.

    Raises:
        ValueError: ``prefix`` is empty.
    """
    prefix = _cache_prefix(prefix)
    objects: dict[str, int] = {}
    entries: dict[str, set[tuple[str, str]]] = {}
    markers: dict[str, list[str]] = {}
    for key in store.list(prefix):
        parts = key[len(prefix) + 1 :].split("/")
        if len(parts) < 2:  # an object directly under prefix/ belongs to no generation
            continue
        gen = parts[0]
        objects[gen] = objects.get(gen, 0) + 1
        entries.setdefault(gen, set())
        if len(parts) >= 4:
            entries[gen].add((parts[1], parts[2]))
            if len(parts) == 4 and parts[3] == MARKER:
                markers.setdefault(gen, []).append(key)
    generations = []
    for gen in objects:
        times = [t for t in (_written_at(store, k) for k in markers.get(gen, [])) if t is not None]
        generations.append(CacheGeneration(config_hash=gen, entries=len(entries[gen]),
                                           complete=len(markers.get(gen, [])), objects=objects[gen],
                                           newest=max(times, default=None)))
    dated = sorted((g for g in generations if g.newest is not None), key=lambda g: (g.newest, g.config_hash),
                   reverse=True)
    return dated + sorted((g for g in generations if g.newest is None), key=lambda g: g.config_hash)


def prune_cache(
    store: ObjectStore,
    prefix: str,
    keep: Collection[str],
    dry_run: bool = False,
    generations: Sequence[CacheGeneration] | None = None,
) -> list[CacheGeneration]:
    """Delete every generation under ``prefix`` whose hash is not in ``keep``; return those (to be) deleted.

    Only ``<prefix>/<hash>/`` trees are deleted; nothing outside ``prefix/`` (nor an object
    directly under it) is touched. A generation being written while it is deleted may keep
    the objects written after the listing (harmless: an entry is complete only with its marker).

    Args:
        keep: config hashes to keep (e.g. ``{config_hash(config)}``; empty: delete every generation).
        dry_run: delete nothing, only report what would go.
        generations: what :func:`cache_generations` returned for ``store`` and ``prefix``
            (default: list them now), so that a caller that shows them deletes exactly those.

    Raises:
        ValueError: ``prefix`` is empty.
    """
    prefix = _cache_prefix(prefix)
    if generations is None:
        generations = cache_generations(store, prefix)
    doomed = [g for g in generations if g.config_hash not in keep]
    for g in doomed:
        if not dry_run:
            deleted = store.delete_prefix(f"{prefix}/{g.config_hash}")
            log.info("cache generation pruned", prefix=prefix, config_hash=g.config_hash, objects=deleted)
    return doomed

