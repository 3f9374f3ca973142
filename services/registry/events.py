"""Operational events in the audit log: what happened outside the registry that stakeholders must see.

The pipeline (an ``operator`` token or above) records, for example, a failed
Airflow task (``pipeline_failure``: DAG, task, run, error) or a skipped approval
step (``approval_skipped``) with :meth:`EventMixin.record_event`; the record lands
in the same hash-chained audit log as every registry change, under the caller's
identity, and shows on the audit page and ``GET /api/audit``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from services.registry import queries as q
from services.registry import rules
from services.registry import validation as v
from services.registry.entities import AuditEvent
from vidforge.identity import Principal, Role

#: Event kinds: lower-case words joined by ``_``; registry actions are not accepted as events.
KIND = re.compile(r"^[a-z][a-z0-9_]{2,62}$")
#: Longest text of one detail value (an error message is cut, not refused).
MAX_TEXT = 2000
MAX_DETAILS = 32


def _details(details: Mapping[str, Any]) -> dict[str, str]:
    if len(details) > MAX_DETAILS:
        raise v.InvalidInput(f"at most {MAX_DETAILS} details, got {len(details)}")
    out: dict[str, str] = {}
    for key, value in details.items():
        if not KIND.match(str(key)):
            raise v.InvalidInput(f"detail key {key!r} must be a lower-case identifier")
        out[str(key)] = str(value)[:MAX_TEXT]
    return out


class EventMixin:
    """Event recording of the registry store."""

    _run: Callable[..., Any]

    def record_event(self, kind: str, who: Principal, details: Mapping[str, Any] | None = None,
                     name: str = "") -> AuditEvent:
        """Append event ``kind`` with string ``details`` to the audit log as ``who`` (operator or above).

        Args:
            kind: e.g. ``pipeline_failure``; prefixed ``event:`` in the log, so it never reads as a registry action.
            name: the model the event concerns; ``""`` = none.

        Raises:
            Forbidden: ``who`` is below ``operator``.
            InvalidInput: a bad kind, model name or detail.
        """
        rules.require_role(who, Role.OPERATOR, "recording events")
        if not KIND.match(kind):
            raise v.InvalidInput(f"event kind {kind!r} must be a lower-case identifier (e.g. pipeline_failure)")
        if name:
            name = v.check_name(name, "model name")
        clean = _details(details or {})

        def op(s: Session) -> AuditEvent:
            return q.audit_entity(q.audit(s, who.name, f"event:{kind}", name, None, clean))

        return self._run(op, write=True)
