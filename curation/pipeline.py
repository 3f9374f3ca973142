"""``curate``: raw videos → a published dataset version in the object store.

Stages run through a :class:`~curation.runner.Runner`: the profile's
``pipeline.runner`` picks the in-process one or the Ray one
(:mod:`curation.runner_ray`, imported only then). The version is written to its
final keys and ``dataset.json`` is published last, after being removed first,
so re-running a version overwrites it cleanly and readers never see a
half-written one as published.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from curation.builders import build_stages
from curation.cache import open_cache
from curation.config import CurationConfig, load_config
from curation.items import SourceItem
from curation.publish import publish
from curation.reasons import unexpected_quarantines
from curation.resume import run_resumable
from curation.runner import Runner, SequentialRunner, describe_pipeline, funnel
from curation.stages.filter import run_report
from vidforge.dataset import dataset_prefix
from vidforge.ids import content_id
from vidforge.logging import get_logger
from vidforge.version import code_version

if TYPE_CHECKING:
    from vidforge.dataset import DatasetInfo
    from vidforge.settings import StoreSettings
    from vidforge.store import ObjectStore

log = get_logger(__name__)


def source_items(sources: Sequence[str | Path], fetch_dir: str | Path,
                 settings: StoreSettings | None = None) -> list[SourceItem]:
    """One :class:`SourceItem` per distinct source (local path, ``file://`` or ``s3://`` URI).

    Remote sources (and their sidecars, when present) are downloaded into
    ``fetch_dir`` through ``settings`` (the S3 endpoint and region of the
    platform's object store, e.g. MinIO; None = the public AWS endpoint).
    ``source_id`` is derived from the source URI, so re-runs give the same ids. A missing
    file still yields an item (the probe quarantines it).
    """
    from vidforge.store import open_uri

    items = []
    for i, src in enumerate(dict.fromkeys(str(s) for s in sources)):
        parsed = urlparse(src)
        if parsed.scheme in ("", "file"):
            path = Path(parsed.path if parsed.scheme else src).expanduser().resolve()
            uri = path.as_uri()
        else:
            store, key = open_uri(src, settings)
            path = Path(fetch_dir) / str(i) / Path(key).name
            if store.exists(key):
                store.get_file(key, path)
                sidecar = str(Path(key).with_suffix(".json"))
                if store.exists(sidecar):
                    store.get_file(sidecar, path.with_suffix(".json"))
            uri = src
        items.append(SourceItem(source_id=content_id(uri), source_uri=uri, source_path=str(path)))
    return items


def source_settings(store: ObjectStore) -> StoreSettings:
    """Where ``s3://`` sources are read: the dataset store's endpoint and region (its credentials come
    from the same environment), so videos uploaded to the platform's MinIO can be curated."""
    from vidforge.settings import get_settings

    own = store.settings()
    return own if own.s3_endpoint_url else get_settings().store


def runner_for(config: CurationConfig, progress: bool = False) -> Runner:
    """The runner ``config.pipeline.runner`` names (Ray is imported only for ``ray``)."""
    if config.pipeline.runner == "ray":
        from curation.runner_ray import RayRunner

        return RayRunner.from_config(config, progress=progress)
    return SequentialRunner(config.pipeline.batch_size, progress=progress)


@contextmanager
def closed_after(runner: Runner | None) -> Iterator[None]:
    """Close a runner ``curate`` made itself when it has ``close`` (a Ray runner stops the Ray it started)."""
    try:
        yield
    finally:
        close = getattr(runner, "close", None)
        if close is not None:
            close()


def curate(
    sources: Sequence[str | Path],
    *,
    store: ObjectStore,
    name: str,
    version: str,
    config: CurationConfig | None = None,
    progress: bool = True,
    runner: Runner | None = None,
) -> DatasetInfo:
    """Curate ``sources`` into dataset ``name``/``version`` and publish it.

    Writes ``datasets/<name>/<version>/{clips/<clip_id>.mp4, manifest.parquet,
    quarantine.parquet, validation.json, datacard.{json,html}, dataset.json}``; the manifest has one row per clip
    (kept, filtered or quarantined); quarantined sources go to the quarantine
    table. Bad inputs never raise: they are quarantined; items quarantined for a reason no stage
    expects (likely bugs) are also listed in ``info.extra["unexpected"]`` (see :mod:`curation.reasons`).
    With ``pipeline.resume`` the per-source stages run in chunks whose results are cached in the store,
    and a re-run restores them (:mod:`curation.resume`); ``info.extra["resume"]`` counts restored and
    processed sources.

    Args:
        config: the curation profile (default: ``configs/curation/default.yaml``).
        progress: show per-stage progress bars.
        runner: how stages run (default: :func:`runner_for` the profile).

    Returns:
        The published :class:`~vidforge.dataset.DatasetInfo`.

    Raises:
        curation.validation.ManifestValidationError: the manifest failed its Great Expectations
            suite; the version stays unpublished (``validation.json`` says why).
    """
    config = config or load_config()
    prefix = dataset_prefix(name, version)
    store.delete(f"{prefix}/dataset.json")  # unpublished while being rewritten
    own = runner is None
    runner = runner or runner_for(config, progress)
    scratch = config.ray.shared_dir if config.pipeline.runner == "ray" else ""
    with (
        tempfile.TemporaryDirectory(prefix="vidforge-curate-", dir=scratch or None) as tmp,
        closed_after(runner if own else None),
    ):
        items = source_items(sources, Path(tmp) / "sources", source_settings(store))
        stages = build_stages(config, tmp, store, prefix)
        log.info("curate", name=name, version=version, sources=len(items))
        done, resumed = run_resumable(stages, items, runner, cache=open_cache(store, config),
                                      chunk_sources=config.pipeline.chunk_sources, restore_dir=Path(tmp) / "restored",
                                      dedup=config.pipeline.dedup_sources)
        unexpected = unexpected_quarantines(done)
        if unexpected:
            log.warning("items quarantined for reasons no stage expects: likely bugs, not bad inputs",
                        count=len(unexpected), reasons=sorted({row["reason"] for row in unexpected}))
        info = publish(
            store, name, version, done, bucket_edges=config.pipeline.motion_bucket_edges,
            config=config.model_dump(mode="json"), code_version=code_version(),
            extra={"funnel": funnel(done), "stages": describe_pipeline(stages).splitlines(),
                   "resume": resumed.to_dict(),
                   "filters": run_report(stages, done), "unexpected": unexpected},
            validation=config.validation,
        )
    log.info("published", name=name, version=version, kept=info.clips_kept, clips=info.clips_in)
    return info
