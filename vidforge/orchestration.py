"""Pure helpers the Airflow DAGs call to turn params and asset events into task inputs.

Kept in the core (no heavy imports) so DAG files stay thin: each task body is a
lazy import plus one call. Explicit params always win over triggering asset
events; tasks never fall back to "latest".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

#: Asset URIs (the DAGs' ``Asset`` constants use these).
DATASETS_URI = "vidforge://datasets"
RUNS_URI = "vidforge://runs"
MODELS_URI = "vidforge://models"

#: Dataset names: lower-case slugs (what :func:`slug` leaves unchanged), as the DAG params' schema.
DATASET_NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
#: Dataset versions / run ids given by hand: empty (derived from the DAG run) or a key-safe name.
VERSION_PATTERN = r"^([A-Za-z0-9][A-Za-z0-9._-]{0,99})?$"


def slug(text: str, max_len: int = 63) -> str:
    """Lower-case ``[a-z0-9-]`` slug of ``text`` (≤ ``max_len``), safe for keys and pod names."""
    out = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return out[:max_len].rstrip("-") or "x"


def event_extras(events: Any) -> list[dict[str, Any]]:
    """Flatten Airflow's ``triggering_asset_events`` (asset → [events]) into extras, oldest first."""
    if not events:
        return []
    groups: Iterable[Any] = events.values() if isinstance(events, Mapping) else [events]
    extras: list[dict[str, Any]] = []
    for group in groups:
        for event in group:
            extra = getattr(event, "extra", None) or {}
            extras.append(dict(extra))
    return extras


def pick(params: Mapping[str, Any], extras: list[dict[str, Any]], *keys: str) -> dict[str, Any]:
    """Values for ``keys``: from ``params`` when all are set, else from the newest event with all.

    Raises:
        ValueError: neither source has every key, naming the missing ones.
    """
    if all(params.get(k) for k in keys):
        return {k: params[k] for k in keys}
    for extra in reversed(extras):
        if all(extra.get(k) for k in keys):
            return {k: extra[k] for k in keys}
    missing = [k for k in keys if not params.get(k)]
    raise ValueError(
        f"missing {', '.join(missing)}: pass them in the run's conf or trigger the DAG from an asset event"
    )


def plan_curation(params: Mapping[str, Any], dag_run_id: str) -> dict[str, Any]:
    """Validate the curate DAG's params: non-empty ``sources``, a dataset name, a version,
    and the curation profile (``profile``: a YAML path, empty for the default; ``overrides``:
    ``{"pipeline.runner": "ray", ...}`` dotted keys or nested dicts merged on top).

    The version defaults to a slug of the DAG run id, so a retried task writes
    to the same version (idempotent) and two runs never share one.
    """
    sources = [str(s) for s in params.get("sources") or []]
    if not sources:
        raise ValueError("no sources: pass conf {'sources': [<video path or URI>, ...]}")
    name = str(params.get("dataset") or "").strip()
    if not name or slug(name) != name:
        raise ValueError(f"dataset name must be a lower-case slug, got {name!r}")
    version = str(params.get("version") or "") or slug(dag_run_id)
    overrides = params.get("overrides") or {}
    if not isinstance(overrides, Mapping):
        raise ValueError(f"overrides must be an object of curation settings, got {overrides!r}")
    return {"sources": sources, "dataset": name, "version": version,
            "profile": str(params.get("profile") or ""), "overrides": dict(overrides)}


def run_id_for(params: Mapping[str, Any], dag_run_id: str) -> str:
    """The training run id: ``params['run_id']`` or a slug of the DAG run id."""
    return slug(str(params.get("run_id") or "") or dag_run_id)
