"""The registry store: the only code that touches the registry's ORM rows, and where its rules hold.

Every public method validates its arguments first, then runs in ONE managed
session (commit on success, rollback on error, always closed) and returns the
frozen dataclasses of :mod:`services.registry.entities`. Every mutation is made
by an authenticated :class:`~vidforge.identity.Principal`, checked against the
rules of :mod:`services.registry.rules`, and writes its hash-chained audit
record in the same transaction. Write transactions are serial: they lock the
audit head row first (``FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on
SQLite), so a compare-and-set reads the state it writes over. Tokens and
webhooks live in :mod:`.tokens` and :mod:`.webhooks`, mixed in here.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.registry import queries as q
from services.registry import rules
from services.registry import validation as v
from services.registry.chain import ChainReport, verify
from services.registry.db import MIGRATIONS, upgrade
from services.registry.entities import Approval, AuditEvent, ModelVersion, RegisteredModel
from services.registry.errors import AlreadyExists, InvalidState, NotFound, RuleViolation, SchemaOutOfDate
from services.registry.events import EventMixin
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
from services.registry.tokens import TokenMixin
from services.registry.webhooks import WebhookMixin, alias_event
from vidforge.db import Database
from vidforge.identity import Principal, Role
from vidforge.settings import Settings
from vidforge.uris import allowed_prefixes

T = TypeVar("T")
MAX_ATTEMPTS = 20
"""Attempts for a write that keeps hitting a unique-key conflict before InvalidState."""
RETRY_BACKOFF_S = 0.005
"""Base of the jittered pause between attempts (attempt n waits up to n x this)."""
_LABEL_LENGTH = 256


@dataclass(frozen=True)
class RegistryPolicy:
    """What the registry accepts: URI locations, webhook hosts, and the aliases new models protect."""

    allowed_uri_prefixes: tuple[str, ...]
    webhook_hosts: tuple[str, ...] = ("localhost", "127.0.0.1")
    protected_aliases: tuple[str, ...] = ("production",)

    @classmethod
    def from_settings(cls, settings: Settings) -> RegistryPolicy:
        """The policy of ``settings.registry`` (URI prefixes default to the object store)."""
        reg = settings.registry
        return cls(tuple(allowed_prefixes(settings)), tuple(reg.webhook_allowed_hosts), tuple(reg.protected_aliases))


class RegistryStore(TokenMixin, WebhookMixin, EventMixin):
    """Registered models, versions, tags, aliases, approvals, tokens, webhooks and the audit chain.

    Thread-safe: each call opens its own session from a shared engine.
    """

    def __init__(self, db_url: str, policy: RegistryPolicy) -> None:
        """Connect to ``db_url`` (``sqlite:///...`` or ``postgresql[+psycopg]://...``).

        Raises:
            SchemaOutOfDate: the database is not at this code's Alembic head (or
                is empty); the message says to run ``vidforge registry upgrade``.
        """
        self.policy = policy
        self._db = Database(
            db_url,
            MIGRATIONS,
            what="registry",
            upgrade_hint="run `vidforge registry upgrade`",
            error=SchemaOutOfDate,
        )
        self.db_url = self._db.url

    @classmethod
    def open(cls, db_url: str, policy: RegistryPolicy, upgrade: bool = True) -> RegistryStore:
        """Open a store, first migrating the database to head when ``upgrade`` is true."""
        if upgrade:
            _upgrade(db_url)
        return cls(db_url, policy)

    @classmethod
    def from_settings(cls, settings: Settings, upgrade: bool = False) -> RegistryStore:
        """The store at ``settings.registry.db_url`` with the settings' policy."""
        return cls.open(settings.registry.db_url, RegistryPolicy.from_settings(settings), upgrade=upgrade)

    def dispose(self) -> None:
        """Close the engine's pooled connections (the store stays usable; it reconnects)."""
        self._db.dispose()

    def _run(self, op: Callable[[Session], T], write: bool = False) -> T:
        """Run ``op`` in a managed session; a write locks the audit head first and retries lost races."""
        sessions = self._db.writers if write else self._db.sessions
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with sessions() as session, session.begin():
                    if write:
                        q.lock_audit_head(session)
                    return op(session)
            except IntegrityError as exc:
                if attempt == MAX_ATTEMPTS:
                    msg = f"write kept conflicting after {attempt} attempts: {exc.orig}"
                    raise InvalidState(msg) from exc
                time.sleep(random.uniform(0, RETRY_BACKOFF_S * attempt))  # de-synchronise racers
        raise AssertionError("unreachable")  # pragma: no cover

    def _version_entity(self, s: Session, model: RegisteredModelRow, row: ModelVersionRow) -> ModelVersion:
        aliases, tags = q.aliases_of(s, model.id, row.version), q.tags_of(s, model.id, row.version)
        return q.version_entity(row, model.name, aliases, tags)

    # ---- models -------------------------------------------------------------------------

    def create_model(self, name: str, who: Principal, description: str = "") -> RegisteredModel:
        """Register a new model (operator) protecting the policy's aliases.

        Raises:
            AlreadyExists: a model named ``name`` exists.
            InvalidInput: bad name or description. Forbidden: a viewer.
        """
        name, description = v.check_name(name), v.check_text(description, "description")
        rules.require_role(who, Role.OPERATOR, "registering a model")

        def op(s: Session) -> RegisteredModel:
            if q.find_model(s, name) is not None:
                raise AlreadyExists(f"registered model {name!r} already exists")
            row = q.insert_model(s, name, description, who.name, list(self.policy.protected_aliases))
            return q.model_entity(row, [])

        return self._run(op, write=True)

    def update_model(
        self, name: str, who: Principal, *, description: str | None = None,
        protected_aliases: Sequence[str] | None = None,
    ) -> RegisteredModel:
        """Change a model's description or protected aliases (admin); audited with before and after."""
        name = v.check_name(name)
        description = None if description is None else v.check_text(description, "description")
        protected = None if protected_aliases is None else sorted({v.check_name(a, "alias") for a in protected_aliases})
        rules.require_role(who, Role.ADMIN, "changing model settings")

        def op(s: Session) -> RegisteredModel:
            row = q.require_model(s, name)
            before = {"description": row.description, "protected_aliases": list(row.protected_aliases)}
            if description is not None:
                row.description = description
            if protected is not None:
                row.protected_aliases = protected
            after = {"description": row.description, "protected_aliases": list(row.protected_aliases)}
            q.audit(s, who.name, "update_model", name, None, {"before": before, "after": after})
            return q.model_entity(row, q.alias_rows(s, [row.id]))

        return self._run(op, write=True)

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

    def register_version(
        self,
        name: str,
        who: Principal,
        *,
        artifact_uri: str,
        sha256: str,
        metrics: dict[str, float] | None = None,
        gate_passed: bool | None = None,
        gate_checks: list[dict[str, Any]] | None = None,
        report_uri: str = "",
        dataset_version: str = "",
        dataset_uri: str = "",
        code_version: str = "",
        run_id: str = "",
        dag_run_id: str = "",
        parent_version: int | None = None,
        description: str = "",
    ) -> tuple[ModelVersion, bool]:
        """Add version max+1 of ``name`` (operator), registering the model first if it is missing.

        Idempotent per training run: when ``run_id`` is already registered for
        this model with the same artifact and digest, that version is returned
        with ``created`` False (nothing is written); with another artifact it is
        a conflict. URIs must lie in the policy's allowed locations.

        Returns:
            ``(version, created)``.

        Raises:
            NotFound: ``parent_version`` is not a version of ``name``.
            AlreadyExists: ``run_id`` is registered with another artifact.
            InvalidInput: any argument fails validation. Forbidden: a viewer.
        """
        prefixes = self.policy.allowed_uri_prefixes
        if gate_passed is not None and not isinstance(gate_passed, bool):
            raise v.InvalidInput(f"gate_passed must be true, false or null, got {gate_passed!r}")
        fields: dict[str, Any] = {
            "artifact_uri": v.check_uri(artifact_uri, prefixes, "artifact_uri"),
            "sha256": v.check_sha256(sha256),
            "metrics": v.check_metrics(metrics),
            "gate_passed": gate_passed,
            "gate_checks": v.check_gate_checks(gate_checks),
            "report_uri": v.check_uri(report_uri, prefixes, "report_uri", required=False),
            "dataset_version": v.check_text(dataset_version, "dataset_version", _LABEL_LENGTH),
            "dataset_uri": v.check_uri(dataset_uri, prefixes, "dataset_uri", required=False),
            "code_version": v.check_text(code_version, "code_version", _LABEL_LENGTH),
            "run_id": v.check_text(run_id, "run_id", _LABEL_LENGTH),
            "dag_run_id": v.check_text(dag_run_id, "dag_run_id", _LABEL_LENGTH),
            "parent_version": v.check_optional_version(parent_version, "parent_version"),
            "description": v.check_text(description, "description"),
        }
        name = v.check_name(name)
        rules.require_role(who, Role.OPERATOR, "registering a version")

        def op(s: Session) -> tuple[ModelVersion, bool]:
            model = q.find_model(s, name) or q.insert_model(s, name, "", who.name, list(self.policy.protected_aliases))
            if fields["run_id"]:
                existing = s.scalar(select(ModelVersionRow).where(
                    ModelVersionRow.model_id == model.id, ModelVersionRow.run_id == fields["run_id"]))
                if existing is not None:
                    if (existing.artifact_uri, existing.sha256) != (fields["artifact_uri"], fields["sha256"]):
                        raise AlreadyExists(
                            f"run {fields['run_id']!r} is already registered as {name} v{existing.version} "
                            f"with artifact {existing.artifact_uri} ({existing.sha256[:12]}…)"
                        )
                    return self._version_entity(s, model, existing), False
            if fields["parent_version"] is not None:
                q.require_version(s, model, fields["parent_version"])
            latest = s.scalar(select(func.max(ModelVersionRow.version)).where(ModelVersionRow.model_id == model.id))
            row = ModelVersionRow(model_id=model.id, version=(latest or 0) + 1, created_at=utcnow(),
                                  created_by=who.name, **fields)
            s.add(row)
            s.flush()
            q.audit(s, who.name, "create_version", name, row.version, {"after": {
                k: fields[k] for k in ("artifact_uri", "sha256", "gate_passed", "run_id", "dag_run_id",
                                       "parent_version", "dataset_version", "report_uri")}})
            return q.version_entity(row, name, ()), True

        return self._run(op, write=True)

    def create_version(self, name: str, who: Principal, **kwargs: Any) -> ModelVersion:
        """:meth:`register_version` returning only the version."""
        return self.register_version(name, who, **kwargs)[0]

    def get_version(self, name: str, version: int) -> ModelVersion:
        """Version ``version`` of ``name``. Raises NotFound."""
        name, version = v.check_name(name), v.check_version(version)

        def op(s: Session) -> ModelVersion:
            model = q.require_model(s, name)
            return self._version_entity(s, model, q.require_version(s, model, version))

        return self._run(op)

    def list_versions(self, name: str) -> list[ModelVersion]:
        """All versions of ``name``, oldest first. Raises NotFound for an unknown model."""
        name = v.check_name(name)

        def op(s: Session) -> list[ModelVersion]:
            model = q.require_model(s, name)
            aliases = q.alias_rows(s, [model.id])
            tags: dict[int, dict[str, str]] = {}
            for t in s.scalars(select(ModelTagRow).where(ModelTagRow.model_id == model.id)):
                tags.setdefault(t.version, {})[t.key] = t.value
            return [
                q.version_entity(r, name, q.aliases_of(s, model.id, r.version, aliases), tags.get(r.version))
                for r in q.version_rows(s, model.id)
            ]

        return self._run(op)

    def lineage(self, name: str, version: int) -> list[ModelVersion]:
        """``version`` of ``name``, then its parent, grand-parent, ... (parents are older). Raises NotFound."""
        name, version = v.check_name(name), v.check_version(version)
        by_number = {mv.version: mv for mv in self.list_versions(name)}
        if version not in by_number:
            raise NotFound(f"model {name!r} has no version {version}")
        chain: list[ModelVersion] = []
        current: int | None = version
        while current is not None and len(chain) < len(by_number):
            chain.append(by_number[current])
            current = by_number[current].parent_version
        return chain

    def set_tag(self, name: str, version: int, key: str, value: str, who: Principal) -> ModelVersion:
        """Set (create or change) tag ``key`` of a version (operator); audited with before and after."""
        name, version = v.check_name(name), v.check_version(version)
        key, value = v.check_tag(key, value)
        rules.require_role(who, Role.OPERATOR, "tagging a version")

        def op(s: Session) -> ModelVersion:
            model = q.require_model(s, name)
            target = q.require_version(s, model, version)
            row = q.find_tag(s, model.id, version, key)
            before = None if row is None else row.value
            if row is None:
                if len(q.tags_of(s, model.id, version)) >= v.MAX_TAGS:
                    raise v.InvalidInput(f"{name} v{version} already has {v.MAX_TAGS} tags")
                s.add(ModelTagRow(model_id=model.id, version=version, key=key, value=value))
            else:
                row.value = value
            s.flush()
            q.audit(s, who.name, "set_tag", name, version, {"key": key, "before": before, "after": value})
            return self._version_entity(s, model, target)

        return self._run(op, write=True)

    def delete_tag(self, name: str, version: int, key: str, who: Principal) -> None:
        """Remove tag ``key`` of a version (operator). Raises NotFound when absent."""
        name, version = v.check_name(name), v.check_version(version)
        key, _ = v.check_tag(key, "")
        rules.require_role(who, Role.OPERATOR, "untagging a version")

        def op(s: Session) -> None:
            model = q.require_model(s, name)
            row = q.find_tag(s, model.id, version, key)
            if row is None:
                raise NotFound(f"{name} v{version} has no tag {key!r}")
            q.audit(s, who.name, "delete_tag", name, version, {"key": key, "before": row.value, "after": None})
            s.delete(row)

        self._run(op, write=True)

    # ---- aliases ------------------------------------------------------------------------

    def set_alias(
        self, name: str, alias: str, version: int, who: Principal, *, expected_version: int | None,
    ) -> ModelVersion:
        """Compare-and-set: point ``alias`` at ``version`` if it now points at ``expected_version`` (None: unset).

        A protected alias needs an approver and a version that passes
        :func:`~services.registry.rules.promotion_blockers`; any other alias an operator.

        Raises:
            AliasConflict: the alias does not point at ``expected_version``; nothing written.
            RuleViolation: a protected alias and a version that is not promotable.
            Forbidden, NotFound, InvalidInput.
        """
        return self._move_alias(name, alias, version, who, expected_version, action="set_alias", reason="")

    def rollback(
        self, name: str, alias: str, version: int, who: Principal, *, expected_version: int | None, reason: str,
    ) -> ModelVersion:
        """Move ``alias`` back to a version it pointed at before, with a reason; audited as ``rollback``.

        The target must still satisfy the alias's rules (a version rejected since
        cannot come back).

        Raises:
            RuleViolation: the alias never pointed at ``version``, or it is current.
            plus everything :meth:`set_alias` raises.
        """
        reason = v.check_reason(reason)
        return self._move_alias(name, alias, version, who, expected_version, action="rollback", reason=reason)

    def _move_alias(
        self, name: str, alias: str, version: int, who: Principal, expected: int | None, *, action: str, reason: str,
    ) -> ModelVersion:
        name, alias, version = v.check_name(name), v.check_name(alias, "alias"), v.check_version(version)
        expected = v.check_optional_version(expected, "expected_version")

        def op(s: Session) -> ModelVersion:
            model = q.require_model(s, name)
            protected = alias in model.protected_aliases
            rules.require_role(who, rules.alias_role(alias, model.protected_aliases), f"moving alias {alias!r}")
            target = q.require_version(s, model, version)
            row = q.find_alias(s, model.id, alias)
            previous = None if row is None else row.version
            rules.check_expected(name, alias, previous, expected)
            if action == "rollback":
                self._check_rollback_target(s, name, alias, version, previous)
            if protected:
                rules.check_promotable(name, alias, target, q.approval_rows(s, model.id, version))
            if row is None:
                s.add(ModelAliasRow(model_id=model.id, alias=alias, version=version))
            else:
                row.version = version
            s.flush()
            details = {"alias": alias, "from": previous, "to": version, "protected": protected}
            if reason:
                details["reason"] = reason
            event = q.audit(s, who.name, action, name, version, details)
            self._enqueue_deliveries(s, model, alias_event(event, target))
            return self._version_entity(s, model, target)

        return self._run(op, write=True)

    @staticmethod
    def _check_rollback_target(s: Session, name: str, alias: str, version: int, current: int | None) -> None:
        if version == current:
            raise RuleViolation(f"{name}:{alias} already points at v{version}: nothing to roll back")
        moves = s.scalars(select(AuditEventRow).where(
            AuditEventRow.model_name == name, AuditEventRow.action.in_(("set_alias", "rollback"))))
        if not any(e.details.get("alias") == alias and e.details.get("to") == version for e in moves):
            raise RuleViolation(f"{name}:{alias} never pointed at v{version}: a rollback goes to a previous version")

    def delete_alias(self, name: str, alias: str, who: Principal, *, expected_version: int | None) -> None:
        """Remove ``alias`` if it points at ``expected_version`` (role as for moving it). Raises NotFound."""
        name, alias = v.check_name(name), v.check_name(alias, "alias")
        expected = v.check_optional_version(expected_version, "expected_version")

        def op(s: Session) -> None:
            model = q.require_model(s, name)
            rules.require_role(who, rules.alias_role(alias, model.protected_aliases), f"deleting alias {alias!r}")
            row = q.find_alias(s, model.id, alias)
            if row is None:
                raise NotFound(f"model {name!r} has no alias {alias!r}")
            rules.check_expected(name, alias, row.version, expected)
            q.audit(s, who.name, "delete_alias", name, row.version, {"alias": alias, "from": row.version, "to": None})
            s.delete(row)

        self._run(op, write=True)

    def get_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version ``alias`` points at. Raises NotFound when the model or alias is absent."""
        name, alias = v.check_name(name), v.check_name(alias, "alias")

        def op(s: Session) -> ModelVersion:
            model = q.require_model(s, name)
            row = q.find_alias(s, model.id, alias)
            if row is None:
                raise NotFound(f"model {name!r} has no alias {alias!r}")
            return self._version_entity(s, model, q.require_version(s, model, row.version))

        return self._run(op)

    # ---- approvals and audit ------------------------------------------------------------

    def add_approval(self, name: str, version: int, who: Principal, decision: str, comment: str = "") -> Approval:
        """Record ``who``'s ``decision`` (``approved``/``rejected``) on a version (approver; four eyes).

        Raises:
            RuleViolation: ``who`` registered the version.
            InvalidInput: bad decision, or a rejection without a reason.
            NotFound, Forbidden.
        """
        name, version = v.check_name(name), v.check_version(version)
        decision = v.check_decision(decision)
        comment = v.check_reason(comment, "a rejection's reason") if decision == "rejected" else v.check_text(
            comment, "comment")
        rules.require_role(who, Role.APPROVER, "reviewing a version")

        def op(s: Session) -> Approval:
            model = q.require_model(s, name)
            rules.check_reviewer(who, q.require_version(s, model, version), name)
            row = ApprovalRow(model_id=model.id, version=version, approver=who.name, decision=decision,
                              comment=comment, created_at=utcnow())
            s.add(row)
            s.flush()
            q.audit(s, who.name, "add_approval", name, version, {"decision": decision, "comment": comment})
            return q.approval_entity(row, name)

        return self._run(op, write=True)

    def list_approvals(self, name: str, version: int) -> list[Approval]:
        """Approvals of a version, oldest first. Raises NotFound for an unknown model or version."""
        name, version = v.check_name(name), v.check_version(version)

        def op(s: Session) -> list[Approval]:
            model = q.require_model(s, name)
            q.require_version(s, model, version)
            return [q.approval_entity(r, name) for r in q.approval_rows(s, model.id, version)]

        return self._run(op)

    def promotion_blockers(self, name: str, version: int) -> list[str]:
        """What keeps a version from a protected alias now (empty: nothing). Raises NotFound."""
        name, version = v.check_name(name), v.check_version(version)

        def op(s: Session) -> list[str]:
            model = q.require_model(s, name)
            row = q.require_version(s, model, version)
            return rules.promotion_blockers(row, q.approval_rows(s, model.id, version))

        return self._run(op)

    def audit_log(self, name: str | None = None, limit: int = 100, before_id: int | None = None) -> list[AuditEvent]:
        """The newest ``limit`` audit events (of model ``name`` if given, older than ``before_id``), newest first.

        An unknown ``name`` yields an empty list: the log outlives the rows it describes.
        """
        limit = v.check_limit(limit)
        name = None if name is None else v.check_name(name)
        before_id = v.check_optional_version(before_id, "before_id")

        def op(s: Session) -> list[AuditEvent]:
            query = select(AuditEventRow).order_by(AuditEventRow.id.desc()).limit(limit)
            if name is not None:
                query = query.where(AuditEventRow.model_name == name)
            if before_id is not None:
                query = query.where(AuditEventRow.id < before_id)
            return [q.audit_entity(r) for r in s.scalars(query)]

        return self._run(op)

    def verify_audit(self, batch: int = 1000) -> ChainReport:
        """Recompute the whole audit chain (see :func:`services.registry.chain.verify`)."""

        def op(s: Session) -> ChainReport:
            head = s.get(AuditHeadRow, 1)
            if head is None:
                raise SchemaOutOfDate("the registry database has no audit head row: run `vidforge registry upgrade`")

            def records() -> Iterator[dict[str, Any]]:
                query = select(AuditEventRow).order_by(AuditEventRow.id).execution_options(yield_per=batch)
                for r in s.scalars(query):
                    yield {"id": r.id, "at": r.at, "actor": r.actor, "action": r.action, "model_name": r.model_name,
                           "version": r.version, "details": r.details, "prev_hash": r.prev_hash, "hash": r.hash}

            return verify(records(), head.last_id, head.last_hash)

        return self._run(op)


_upgrade = upgrade  # RegistryStore.open's `upgrade` argument shadows the function name
