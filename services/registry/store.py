"""The registry store: the only code that touches the registry's ORM rows.

Every public method validates its arguments first, then runs in ONE managed
session (commit on success, rollback on error, always closed) and returns the
frozen dataclasses of :mod:`services.registry.entities`. Every mutation writes
its audit event in the same transaction. Writes that lose a uniqueness race
(two writers taking the same next version number) are retried in a fresh
session; see :data:`MAX_ATTEMPTS`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from services.registry import queries as q
from services.registry import validation as v
from services.registry.db import create_engine, head_revision, normalise_url, upgrade
from services.registry.entities import Approval, AuditEvent, ModelVersion, RegisteredModel
from services.registry.errors import AlreadyExists, InvalidState, NotFound, SchemaOutOfDate
from services.registry.models import (
    ApprovalRow,
    AuditEventRow,
    ModelAliasRow,
    ModelVersionRow,
    RegisteredModelRow,
    utcnow,
)

T = TypeVar("T")
MAX_ATTEMPTS = 20
"""Attempts for a write that keeps hitting a unique-key conflict before InvalidState."""
RETRY_BACKOFF_S = 0.005
"""Base of the jittered pause between attempts (attempt n waits up to n x this)."""
_LABEL_LENGTH = 256


class RegistryStore:
    """Registered models, versions, aliases, approvals and the audit log in one SQL database.

    Thread-safe: each call opens its own session from a shared engine.
    """

    def __init__(self, db_url: str) -> None:
        """Connect to ``db_url`` (``sqlite:///...`` or ``postgresql[+psycopg]://...``).

        Raises:
            SchemaOutOfDate: the database is not at this code's Alembic head (or
                is empty); the message says to run ``vidforge registry upgrade``.
        """
        self.db_url = normalise_url(db_url)
        self._engine = create_engine(self.db_url)
        try:
            self._verify_schema()
        except BaseException:
            self._engine.dispose()
            raise
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)

    @classmethod
    def open(cls, db_url: str, upgrade: bool = True) -> RegistryStore:
        """Open a store, first migrating the database to head when ``upgrade`` is true."""
        if upgrade:
            _upgrade(db_url)
        return cls(db_url)

    def dispose(self) -> None:
        """Close the engine's pooled connections (the store stays usable; it reconnects)."""
        self._engine.dispose()

    def _verify_schema(self) -> None:
        with self._engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
        head = head_revision()
        if current != head:
            shown = make_url(self.db_url).render_as_string(hide_password=True)
            raise SchemaOutOfDate(
                f"registry database {shown} is at schema revision {current or 'none (empty)'}, "
                f"this code needs {head}: run `vidforge registry upgrade`"
            )

    def _run(self, op: Callable[[Session], T]) -> T:
        """Run ``op`` in a managed session; retry it on IntegrityError (a lost race)."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with self._sessions() as session, session.begin():
                    return op(session)
            except IntegrityError as exc:
                if attempt == MAX_ATTEMPTS:
                    msg = f"write kept conflicting after {attempt} attempts: {exc.orig}"
                    raise InvalidState(msg) from exc
                time.sleep(random.uniform(0, RETRY_BACKOFF_S * attempt))  # de-synchronise racers
        raise AssertionError("unreachable")  # pragma: no cover

    # ---- models -------------------------------------------------------------------------

    def create_model(self, name: str, description: str = "", actor: str = "system") -> RegisteredModel:
        """Register a new model.

        Raises:
            AlreadyExists: a model named ``name`` exists.
            InvalidInput: bad name, description or actor.
        """
        name, actor = v.check_name(name), v.check_actor(actor)
        description = v.check_text(description, "description")

        def op(s: Session) -> RegisteredModel:
            if q.find_model(s, name) is not None:
                raise AlreadyExists(f"registered model {name!r} already exists")
            row = q.insert_model(s, name, description, actor)
            return RegisteredModel(row.name, row.description, row.created_at, {})

        return self._run(op)

    def get_model(self, name: str) -> RegisteredModel:
        """The model named ``name`` with its aliases. Raises NotFound."""
        name = v.check_name(name)

        def op(s: Session) -> RegisteredModel:
            row = q.require_model(s, name)
            return q.model_entity(row, q.alias_rows(s, [row.id]))

        return self._run(op)

    def list_models(self) -> list[RegisteredModel]:
        """All models, ordered by name."""

        def op(s: Session) -> list[RegisteredModel]:
            rows = list(s.scalars(select(RegisteredModelRow).order_by(RegisteredModelRow.name)))
            aliases = q.alias_rows(s, [r.id for r in rows])
            return [q.model_entity(r, [a for a in aliases if a.model_id == r.id]) for r in rows]

        return self._run(op)

    # ---- versions -----------------------------------------------------------------------

    def create_version(
        self,
        name: str,
        *,
        artifact_uri: str,
        sha256: str,
        metrics: dict[str, float] | None = None,
        dataset_version: str = "",
        code_version: str = "",
        run_id: str = "",
        parent_version: int | None = None,
        created_by: str = "system",
        description: str = "",
    ) -> ModelVersion:
        """Add version max+1 of ``name``, registering the model first if it is missing.

        The number is taken inside the transaction and guarded by the unique
        ``(model, version)`` key; a concurrent writer that took it first makes
        this call retry (up to :data:`MAX_ATTEMPTS`). On PostgreSQL the model row
        is also locked (``FOR UPDATE``) so writers to one model queue instead of
        racing. ``sha256`` is stored lower-case.

        Raises:
            NotFound: ``parent_version`` is not a version of ``name``.
            InvalidInput: any argument fails validation.
            InvalidState: lost the version race :data:`MAX_ATTEMPTS` times.
        """
        fields: dict[str, Any] = {
            "artifact_uri": v.check_uri(artifact_uri),
            "sha256": v.check_sha256(sha256),
            "metrics": v.check_metrics(metrics),
            "dataset_version": v.check_text(dataset_version, "dataset_version", _LABEL_LENGTH),
            "code_version": v.check_text(code_version, "code_version", _LABEL_LENGTH),
            "run_id": v.check_text(run_id, "run_id", _LABEL_LENGTH),
            "parent_version": None if parent_version is None else v.check_version(parent_version),
            "created_by": v.check_actor(created_by, "created_by"),
            "description": v.check_text(description, "description"),
        }
        name = v.check_name(name)

        def op(s: Session) -> ModelVersion:
            model = q.find_model(s, name, lock=True) or q.insert_model(s, name, "", fields["created_by"])
            if fields["parent_version"] is not None:
                q.require_version(s, model, fields["parent_version"])
            latest = s.scalar(select(func.max(ModelVersionRow.version)).where(ModelVersionRow.model_id == model.id))
            row = ModelVersionRow(model_id=model.id, version=(latest or 0) + 1, created_at=utcnow(), **fields)
            s.add(row)
            s.flush()
            details = {k: fields[k] for k in ("artifact_uri", "sha256", "parent_version", "run_id")}
            q.audit(s, fields["created_by"], "create_version", name, row.version, details)
            return q.version_entity(row, name, ())

        return self._run(op)

    def get_version(self, name: str, version: int) -> ModelVersion:
        """Version ``version`` of ``name``. Raises NotFound."""
        name, version = v.check_name(name), v.check_version(version)

        def op(s: Session) -> ModelVersion:
            model = q.require_model(s, name)
            return q.version_entity(q.require_version(s, model, version), name, q.aliases_of(s, model.id, version))

        return self._run(op)

    def list_versions(self, name: str) -> list[ModelVersion]:
        """All versions of ``name``, oldest first. Raises NotFound for an unknown model."""
        name = v.check_name(name)

        def op(s: Session) -> list[ModelVersion]:
            model = q.require_model(s, name)
            aliases = q.alias_rows(s, [model.id])
            return [
                q.version_entity(r, name, q.aliases_of(s, model.id, r.version, aliases))
                for r in q.version_rows(s, model.id)
            ]

        return self._run(op)

    def lineage(self, name: str, version: int) -> list[ModelVersion]:
        """``version`` of ``name``, then its parent, grand-parent, ... (parents are older).

        Raises:
            NotFound: unknown model or version.
        """
        name, version = v.check_name(name), v.check_version(version)

        def op(s: Session) -> list[ModelVersion]:
            model = q.require_model(s, name)
            rows = {r.version: r for r in q.version_rows(s, model.id)}
            aliases = q.alias_rows(s, [model.id])
            if version not in rows:
                raise NotFound(f"model {name!r} has no version {version}")
            chain: list[ModelVersion] = []
            current: int | None = version
            while current is not None and len(chain) < len(rows):
                chain.append(q.version_entity(rows[current], name, q.aliases_of(s, model.id, current, aliases)))
                current = rows[current].parent_version
            return chain

        return self._run(op)

    # ---- aliases ------------------------------------------------------------------------

    def set_alias(self, name: str, alias: str, version: int, actor: str = "system") -> ModelVersion:
        """Point ``alias`` of ``name`` at ``version``, creating or moving it.

        Returns the version now carrying the alias. Raises NotFound for an unknown
        model or version, InvalidInput for bad arguments.
        """
        name, alias = v.check_name(name), v.check_name(alias, "alias")
        version, actor = v.check_version(version), v.check_actor(actor)

        def op(s: Session) -> ModelVersion:
            model = q.require_model(s, name)
            target = q.require_version(s, model, version)
            row = q.find_alias(s, model.id, alias)
            previous = None if row is None else row.version
            if row is None:
                s.add(ModelAliasRow(model_id=model.id, alias=alias, version=version))
            else:
                row.version = version
            s.flush()
            q.audit(s, actor, "set_alias", name, version, {"alias": alias, "from": previous, "to": version})
            return q.version_entity(target, name, q.aliases_of(s, model.id, version))

        return self._run(op)

    def delete_alias(self, name: str, alias: str, actor: str = "system") -> None:
        """Remove ``alias`` from ``name``. Raises NotFound when the model or alias is absent."""
        name, alias, actor = v.check_name(name), v.check_name(alias, "alias"), v.check_actor(actor)

        def op(s: Session) -> None:
            model = q.require_model(s, name)
            row = q.find_alias(s, model.id, alias)
            if row is None:
                raise NotFound(f"model {name!r} has no alias {alias!r}")
            q.audit(s, actor, "delete_alias", name, row.version, {"alias": alias})
            s.delete(row)

        self._run(op)

    def get_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version ``alias`` points at. Raises NotFound when the model or alias is absent."""
        name, alias = v.check_name(name), v.check_name(alias, "alias")

        def op(s: Session) -> ModelVersion:
            model = q.require_model(s, name)
            row = q.find_alias(s, model.id, alias)
            if row is None:
                raise NotFound(f"model {name!r} has no alias {alias!r}")
            target = q.require_version(s, model, row.version)
            return q.version_entity(target, name, q.aliases_of(s, model.id, row.version))

        return self._run(op)

    # ---- approvals and audit ------------------------------------------------------------

    def add_approval(self, name: str, version: int, approver: str, decision: str, comment: str = "") -> Approval:
        """Record ``approver``'s ``decision`` (``approved``/``rejected``) on a version.

        Raises:
            InvalidInput: (a ``ValueError``) bad decision, approver or names.
            NotFound: unknown model or version.
        """
        name, version = v.check_name(name), v.check_version(version)
        approver, decision = v.check_actor(approver, "approver"), v.check_decision(decision)
        comment = v.check_text(comment, "comment")

        def op(s: Session) -> Approval:
            model = q.require_model(s, name)
            q.require_version(s, model, version)
            row = ApprovalRow(
                model_id=model.id,
                version=version,
                approver=approver,
                decision=decision,
                comment=comment,
                created_at=utcnow(),
            )
            s.add(row)
            s.flush()
            q.audit(s, approver, "add_approval", name, version, {"decision": decision, "comment": comment})
            return q.approval_entity(row, name)

        return self._run(op)

    def list_approvals(self, name: str, version: int) -> list[Approval]:
        """Approvals of a version, oldest first. Raises NotFound for an unknown model or version."""
        name, version = v.check_name(name), v.check_version(version)

        def op(s: Session) -> list[Approval]:
            model = q.require_model(s, name)
            q.require_version(s, model, version)
            rows = s.scalars(
                select(ApprovalRow)
                .where(ApprovalRow.model_id == model.id, ApprovalRow.version == version)
                .order_by(ApprovalRow.id)
            )
            return [q.approval_entity(r, name) for r in rows]

        return self._run(op)

    def audit_log(self, name: str | None = None, limit: int = 100) -> list[AuditEvent]:
        """The newest ``limit`` audit events (of model ``name`` if given), newest first.

        An unknown ``name`` yields an empty list: the log outlives the rows it describes.
        """
        limit = v.check_limit(limit)
        name = None if name is None else v.check_name(name)

        def op(s: Session) -> list[AuditEvent]:
            query = select(AuditEventRow).order_by(AuditEventRow.id.desc()).limit(limit)
            if name is not None:
                query = query.where(AuditEventRow.model_name == name)
            return [
                AuditEvent(r.id, r.at, r.actor, r.action, r.model_name, r.version, dict(r.details))
                for r in s.scalars(query)
            ]

        return self._run(op)


_upgrade = upgrade  # RegistryStore.open's `upgrade` argument shadows the function name
