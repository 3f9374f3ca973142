"""Entry points the Airflow tasks call (one call per task; settings from the environment)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any


def curate_task(sources: list[str], dataset: str, version: str, profile: str | None = None) -> dict[str, Any]:
    """Curate ``sources`` into ``dataset``/``version`` in the configured store.

    Returns the published ``dataset.json`` content (counts, motion-bucket edges,
    config, code version) — small enough for XCom.
    """
    from curation.config import load_config
    from curation.pipeline import curate
    from vidforge.settings import get_settings
    from vidforge.store import open_store

    settings = get_settings()
    info = curate(
        sources, store=open_store(settings.store), name=dataset, version=version,
        config=load_config(profile), progress=False,
    )
    return asdict(info)
