"""Entry points the Airflow tasks call (one call per task; settings from the environment)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any


def curate_task(
    sources: list[str], dataset: str, version: str, profile: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Curate ``sources`` into ``dataset``/``version`` in the configured store.

    Args:
        profile: a curation profile YAML (default: ``configs/curation/default.yaml``).
        overrides: settings merged on top, as dotted keys (``{"pipeline.runner": "ray"}``)
            or nested dicts.

    Returns the published ``dataset.json`` content (counts, motion-bucket edges,
    config, code version) — small enough for XCom.
    """
    from curation.config import load_config
    from curation.pipeline import curate
    from vidforge.settings import get_settings, nest_dotted
    from vidforge.store import open_store

    settings = get_settings()
    info = curate(
        sources, store=open_store(settings.store), name=dataset, version=version,
        config=load_config(profile or None, nest_dotted(overrides or {})), progress=False,
    )
    return asdict(info)


def plan_shards_task(sources: list[str], shard_size: int) -> list[list[str]]:
    """The run's sources in shards of ``shard_size`` (one mapped task each; see :mod:`curation.shards`)."""
    from curation.shards import plan_shards

    return plan_shards(sources, shard_size)


def curate_shard_task(
    shard: list[str], dataset: str, version: str, profile: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Run the per-source stages over one shard and leave its sources in the resume cache (publishes nothing).

    Returns the shard's counts (``restored`` by an earlier try, ``processed`` now, ``duplicates``).
    """
    from curation.config import load_config
    from curation.shards import run_shard
    from vidforge.settings import get_settings, nest_dotted
    from vidforge.store import open_store

    config = load_config(profile or None, nest_dotted(overrides or {}))
    return run_shard(shard, store=open_store(get_settings().store), name=dataset, version=version, config=config)
