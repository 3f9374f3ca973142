"""API tokens of the registry: created (shown once), listed, revoked, resolved to a principal.

Mixed into :class:`~services.registry.store.RegistryStore`; only digests are
stored (see :mod:`vidforge.identity`). Every change is audited with the token's
name and role, never its value. The first admin token can be created without
an identity (``who=None``, from the CLI with database access) while no active
admin token exists; after that only an admin creates tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select

from services.registry import queries as q
from services.registry import rules
from services.registry import validation as v
from services.registry.entities import TokenInfo
from services.registry.errors import AlreadyExists, Forbidden, NotFound, Unauthenticated
from services.registry.models import ApiTokenRow, utcnow
from vidforge.identity import Principal, Role, lookup_digest, new_token

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

T = TypeVar("T")
BOOTSTRAP_ACTOR = "bootstrap (database access)"
"""The audit actor of the first admin token, created before any identity exists."""


def _info(row: ApiTokenRow) -> TokenInfo:
    return TokenInfo(row.name, row.role, row.created_by, row.created_at, row.revoked_at)


def _active_admins(s: Session) -> int:
    rows = s.scalars(select(ApiTokenRow).where(ApiTokenRow.role == Role.ADMIN.label, ApiTokenRow.revoked_at.is_(None)))
    return len(list(rows))


class TokenMixin:
    """Token operations of the registry store."""

    _run: Callable[..., Any]

    def create_token(self, name: str, role: str, who: Principal | None) -> tuple[TokenInfo, str]:
        """Create token ``name`` with ``role`` (admin; or bootstrap, see the module); returns it and its value.

        Raises:
            AlreadyExists: the name is taken (also by a revoked token: names stay unique in the audit).
            Forbidden: ``who`` is not an admin, or ``who`` is None once an admin token exists.
            InvalidInput: bad name or role.
        """
        name = v.check_name(name, "token name")
        try:
            parsed = Role.parse(role)
        except ValueError as exc:
            raise v.InvalidInput(str(exc)) from None
        if who is not None:
            rules.require_role(who, Role.ADMIN, "creating tokens")
        plain, digest = new_token()

        def op(s: Session) -> tuple[TokenInfo, str]:
            if who is None and (_active_admins(s) or parsed != Role.ADMIN):
                raise Forbidden("without an identity only the first admin token can be created; "
                                "set VIDFORGE_REGISTRY__TOKEN to an admin token")
            actor = who.name if who else BOOTSTRAP_ACTOR
            if s.scalar(select(ApiTokenRow).where(ApiTokenRow.name == name)) is not None:
                raise AlreadyExists(f"a token named {name!r} exists already (revoked names are not reused)")
            row = ApiTokenRow(name=name, role=parsed.label, token_hash=digest, created_by=actor, created_at=utcnow())
            s.add(row)
            s.flush()
            q.audit(s, actor, "create_token", "", None, {"token": name, "after": {"role": parsed.label}})
            return _info(row), plain

        result: tuple[TokenInfo, str] = self._run(op, write=True)
        return result

    def list_tokens(self, who: Principal) -> list[TokenInfo]:
        """Every token, by name (admin)."""
        rules.require_role(who, Role.ADMIN, "listing tokens")

        def op(s: Session) -> list[TokenInfo]:
            return [_info(r) for r in s.scalars(select(ApiTokenRow).order_by(ApiTokenRow.name))]

        result: list[TokenInfo] = self._run(op)
        return result

    def revoke_token(self, name: str, who: Principal) -> TokenInfo:
        """Revoke token ``name`` (admin); it stops working at once. Raises NotFound."""
        name = v.check_name(name, "token name")
        rules.require_role(who, Role.ADMIN, "revoking tokens")

        def op(s: Session) -> TokenInfo:
            row = s.scalar(select(ApiTokenRow).where(ApiTokenRow.name == name))
            if row is None:
                raise NotFound(f"no token named {name!r}")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
                q.audit(s, who.name, "revoke_token", "", None, {"token": name, "before": {"role": row.role}})
            return _info(row)

        result: TokenInfo = self._run(op, write=True)
        return result

    def resolve_token(self, plain: str) -> Principal | None:
        """The principal of an active token, or None (unknown, revoked or malformed)."""
        digest = lookup_digest(plain)
        if digest is None:
            return None

        def op(s: Session) -> Principal | None:
            row = s.scalar(select(ApiTokenRow).where(ApiTokenRow.token_hash == digest))
            if row is None or row.revoked_at is not None:
                return None
            return Principal(row.name, Role.parse(row.role))

        result: Principal | None = self._run(op)
        return result


def principal_from(store: TokenMixin, plain: str, where: str) -> Principal:
    """The principal of ``plain``; raises :class:`Unauthenticated` naming ``where`` the token came from."""
    principal = store.resolve_token(plain) if plain else None
    if principal is None:
        if not plain:
            raise Unauthenticated(f"no registry identity: {where} is empty")
        raise Unauthenticated(f"the registry token in {where} is unknown or revoked")
    return principal

