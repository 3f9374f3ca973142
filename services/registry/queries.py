"""Session-level helpers of the registry store: row look-ups, audit rows, entity conversion.

Private to :mod:`services.registry.store`: every function takes the caller's
session and never commits; ORM rows go in, frozen entities come out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.registry.chain import record_hash
from services.registry.entities import Approval, AuditEvent, ModelVersion, RegisteredModel
from services.registry.errors import NotFound, SchemaOutOfDate
from services.registry.models import (
    ApprovalRow,
    AuditEventRow,
    AuditHeadRow,
    ModelAliasRow,
    ModelTagRow,
    ModelVersionRow,
    RegisteredModelRow,
    utcnow,
)


def find_model(s: Session, name: str, lock: bool = False) -> RegisteredModelRow | None:
    """The model row named ``name``, or None; ``lock`` takes a row lock where supported."""
    query = select(RegisteredModelRow).where(RegisteredModelRow.name == name)
    return s.scalar(query.with_for_update() if lock else query)


def require_model(s: Session, name: str) -> RegisteredModelRow:
    """The model row named ``name``. Raises NotFound."""
    row = find_model(s, name)
    if row is None:
        raise NotFound(f"registered model {name!r} not found")
    return row


def insert_model(
    s: Session, name: str, description: str, actor: str, protected_aliases: list[str]
) -> RegisteredModelRow:
    """Add a model row and its ``create_model`` audit event; flushed, not committed."""
    row = RegisteredModelRow(
        name=name, description=description, created_at=utcnow(), protected_aliases=list(protected_aliases)
    )
    s.add(row)
    s.flush()
    audit(s, actor, "create_model", name, None,
          {"after": {"description": description, "protected_aliases": list(protected_aliases)}})
    return row


def require_version(s: Session, model: RegisteredModelRow, version: int) -> ModelVersionRow:
    """Version ``version`` of ``model``. Raises NotFound."""
    row = s.scalar(
        select(ModelVersionRow).where(ModelVersionRow.model_id == model.id, ModelVersionRow.version == version)
    )
    if row is None:
        raise NotFound(f"model {model.name!r} has no version {version}")
    return row


def version_rows(s: Session, model_id: int) -> list[ModelVersionRow]:
    """All version rows of a model, oldest first."""
    query = select(ModelVersionRow).where(ModelVersionRow.model_id == model_id)
    return list(s.scalars(query.order_by(ModelVersionRow.version)))


def find_alias(s: Session, model_id: int, alias: str) -> ModelAliasRow | None:
    """The alias row ``alias`` of a model, or None."""
    return s.scalar(select(ModelAliasRow).where(ModelAliasRow.model_id == model_id, ModelAliasRow.alias == alias))


def alias_rows(s: Session, model_ids: list[int]) -> list[ModelAliasRow]:
    """Alias rows of the given models, ordered by alias name."""
    if not model_ids:
        return []
    query = select(ModelAliasRow).where(ModelAliasRow.model_id.in_(model_ids))
    return list(s.scalars(query.order_by(ModelAliasRow.alias)))


def aliases_of(s: Session, model_id: int, version: int, rows: Iterable[ModelAliasRow] | None = None) -> tuple[str, ...]:
    """Sorted alias names pointing at ``version``; pass ``rows`` to avoid a query."""
    rows = alias_rows(s, [model_id]) if rows is None else rows
    return tuple(sorted(r.alias for r in rows if r.model_id == model_id and r.version == version))


def lock_audit_head(s: Session) -> AuditHeadRow:
    """Lock the audit chain's head row for this transaction (``FOR UPDATE``) and remember it.

    Every write transaction takes this lock first, so on PostgreSQL registry
    writes are serial (SQLite's ``BEGIN IMMEDIATE`` does the same there).
    """
    head = s.scalar(select(AuditHeadRow).where(AuditHeadRow.id == 1).with_for_update())
    if head is None:
        raise SchemaOutOfDate("the registry database has no audit head row: run `vidforge registry upgrade`")
    s.info["audit_head"] = head
    return head


def audit(
    s: Session, actor: str, action: str, name: str, version: int | None, details: dict[str, Any]
) -> AuditEventRow:
    """Append the next record of the hash chain to the session's transaction (the head must be locked)."""
    head: AuditHeadRow = s.info.get("audit_head") or lock_audit_head(s)
    at, rid = utcnow(), head.last_id + 1
    digest = record_hash(id=rid, at=at, actor=actor, action=action, model_name=name, version=version,
                         details=details, prev_hash=head.last_hash)
    row = AuditEventRow(id=rid, at=at, actor=actor, action=action, model_name=name, version=version,
                        details=details, prev_hash=head.last_hash, hash=digest)
    s.add(row)
    head.last_id, head.last_hash = rid, digest
    s.flush()
    return row


def audit_entity(r: AuditEventRow) -> AuditEvent:
    """An audit row as an :class:`AuditEvent`."""
    return AuditEvent(r.id, r.at, r.actor, r.action, r.model_name, r.version, dict(r.details), r.prev_hash, r.hash)


def tags_of(s: Session, model_id: int, version: int) -> dict[str, str]:
    """The tags of one version, by key."""
    rows = s.scalars(select(ModelTagRow).where(ModelTagRow.model_id == model_id, ModelTagRow.version == version))
    return {r.key: r.value for r in rows}


def find_tag(s: Session, model_id: int, version: int, key: str) -> ModelTagRow | None:
    """The tag row ``key`` of a version, or None."""
    return s.scalar(select(ModelTagRow).where(
        ModelTagRow.model_id == model_id, ModelTagRow.version == version, ModelTagRow.key == key))


def approval_rows(s: Session, model_id: int, version: int) -> list[ApprovalRow]:
    """Decisions on a version, oldest first."""
    query = select(ApprovalRow).where(ApprovalRow.model_id == model_id, ApprovalRow.version == version)
    return list(s.scalars(query.order_by(ApprovalRow.id)))


def model_entity(row: RegisteredModelRow, aliases: Iterable[ModelAliasRow]) -> RegisteredModel:
    """A model row and its alias rows as a :class:`RegisteredModel`."""
    return RegisteredModel(row.name, row.description, row.created_at, {a.alias: a.version for a in aliases},
                           tuple(row.protected_aliases))


def version_entity(
    row: ModelVersionRow, name: str, aliases: tuple[str, ...], tags: dict[str, str] | None = None
) -> ModelVersion:
    """A version row as a :class:`ModelVersion` of model ``name`` carrying ``aliases`` and ``tags``."""
    return ModelVersion(
        name=name,
        version=row.version,
        artifact_uri=row.artifact_uri,
        sha256=row.sha256,
        metrics={k: float(x) for k, x in row.metrics.items()},
        dataset_version=row.dataset_version,
        code_version=row.code_version,
        run_id=row.run_id,
        parent_version=row.parent_version,
        created_by=row.created_by,
        created_at=row.created_at,
        description=row.description,
        aliases=aliases,
        gate_passed=row.gate_passed,
        gate_checks=tuple(row.gate_checks),
        report_uri=row.report_uri,
        dataset_uri=row.dataset_uri,
        dag_run_id=row.dag_run_id,
        tags=dict(tags or {}),
    )


def approval_entity(row: ApprovalRow, name: str) -> Approval:
    """An approval row as an :class:`Approval` of model ``name``."""
    return Approval(name, row.version, row.approver, row.decision, row.comment, row.created_at)
