"""Where the pipeline's failures and notable decisions go: the log and the registry's audit log.

:func:`record_event` posts an event to the registry's ``POST /api/audit/events`` as
the process's registry identity (``VIDFORGE_REGISTRY__TOKEN``, an ``operator`` token
or above); the stakeholders read it on the registry's audit page next to every
model change. :func:`on_task_failure` is the Airflow failure callback of every
vidforge DAG: it logs the failed DAG, task, run, try and error and records them as
a ``pipeline_failure`` event. Recording never raises: an unreachable registry is
logged, and the task's own failure stays what Airflow reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from vidforge.logging import get_logger

if TYPE_CHECKING:
    import httpx

    from vidforge.settings import Settings

log = get_logger(__name__)

#: Seconds one event post may take (a failure callback must not hang).
TIMEOUT_S = 10.0


def record_event(kind: str, details: Mapping[str, Any], *, name: str = "", settings: Settings | None = None,
                 client: httpx.Client | None = None) -> bool:
    """Record event ``kind`` with ``details`` in the registry's audit log; whether it was recorded.

    Args:
        name: the model the event concerns (``""``: none).
        settings: whose ``registry.url`` / ``registry.token`` to use (None = from the environment).
        client: an HTTP client (tests pass the registry app's); None = a new one to ``registry.url``.
    """
    import httpx

    from vidforge.settings import get_settings

    settings = settings or get_settings()
    token = settings.registry.token.get_secret_value()
    body = {"kind": kind, "name": name, "details": {k: str(v)[:2000] for k, v in details.items()}}
    if not token:
        log.warning("event not recorded in the registry: no VIDFORGE_REGISTRY__TOKEN", kind=kind, **body["details"])
        return False
    try:
        http = client or httpx.Client(base_url=settings.registry.url, timeout=TIMEOUT_S)
        response = http.post("/api/audit/events", json=body, headers={"Authorization": f"Bearer {token}"})
        response.raise_for_status()
    except httpx.HTTPError as e:
        log.warning("event not recorded in the registry", kind=kind, error=str(e), **body["details"])
        return False
    return True


def failure_details(context: Mapping[str, Any]) -> dict[str, str]:
    """DAG, task, run, try and error of an Airflow failure-callback ``context``."""
    ti = context.get("ti") or context.get("task_instance")
    error = context.get("exception") or context.get("reason") or "unknown error"
    return {
        "dag_id": str(getattr(ti, "dag_id", "") or getattr(context.get("dag"), "dag_id", "")),
        "task_id": str(getattr(ti, "task_id", "") or ""),
        "run_id": str(context.get("run_id") or getattr(ti, "run_id", "") or ""),
        "try_number": str(getattr(ti, "try_number", "") or ""),
        "error": f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error),
    }


def on_task_failure(context: Mapping[str, Any]) -> None:
    """Airflow ``on_failure_callback``: log the failure and record it as a ``pipeline_failure`` event."""
    details = failure_details(context)
    log.error("pipeline task failed", **details)
    record_event("pipeline_failure", details)
