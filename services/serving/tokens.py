"""Scoped API tokens of the generation service: created (shown once), listed, revoked, resolved.

Mixed into :class:`~services.serving.store.JobStore`. The token format, its
SHA-256 at rest and the scopes are :mod:`vidforge.identity`'s (the platform's
one identity system); serving keeps its own token table because it keeps its
own database. Who may create tokens: an ``admin``-scoped caller over HTTP, or
anyone with database access through ``vidforge serving token create``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.serving.entities import TokenInfo
from services.serving.errors import InvalidParameterError, TokenExistsError, TokenNotFoundError
from services.serving.models import NAME_LENGTH, TokenRow
from vidforge.identity import Principal, Scope, lookup_digest, new_token

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def check_token_name(name: str) -> str:
    """``name`` when it is 1..128 of ``[A-Za-z0-9._-]`` starting alphanumeric. Raises InvalidParameterError."""
    if not isinstance(name, str) or not 0 < len(name) <= NAME_LENGTH or not _NAME.match(name):
        raise InvalidParameterError(f"token name {str(name)[:80]!r} must be 1-{NAME_LENGTH} of A-Z a-z 0-9 . _ -")
    return name


def _info(row: TokenRow) -> TokenInfo:
    return TokenInfo(row.name, tuple(row.scopes.split(",")), row.created_by, row.created_at, row.revoked_at)


class TokenMixin:
    """Token operations of the job store."""

    _run: Callable[..., Any]

    def create_token(self, name: str, scopes: Iterable[Scope] | str, created_by: str) -> tuple[TokenInfo, str]:
        """Create token ``name`` with ``scopes``; returns it and its value (shown once).

        Raises:
            InvalidParameterError: bad name or scopes.
            TokenExistsError: the name is taken (also by a revoked token).
        """
        name = check_token_name(name)
        try:
            parsed = Scope.parse_many(scopes) if isinstance(scopes, str) else Scope.parse_many(list(scopes))
        except ValueError as e:
            raise InvalidParameterError(str(e)) from None
        plain, digest = new_token()

        def op(s: Session) -> TokenInfo:
            if s.scalar(select(TokenRow).where(TokenRow.name == name)) is not None:
                raise TokenExistsError(f"a token named {name!r} exists already (revoked names are not reused)")
            row = TokenRow(name=name, token_hash=digest, scopes=Scope.render(parsed),
                           created_by=created_by[:NAME_LENGTH], created_at=datetime.now(UTC), revoked_at=None)
            s.add(row)
            s.flush()
            return _info(row)

        info: TokenInfo = self._run(op, write=True)
        return info, plain

    def list_tokens(self) -> list[TokenInfo]:
        """Every token, by name (never values)."""
        result: list[TokenInfo] = self._run(
            lambda s: [_info(r) for r in s.scalars(select(TokenRow).order_by(TokenRow.name))])
        return result

    def revoke_token(self, name: str) -> TokenInfo:
        """Revoke token ``name``; it stops working at once. Raises TokenNotFoundError."""

        def op(s: Session) -> TokenInfo:
            row = s.scalar(select(TokenRow).where(TokenRow.name == name))
            if row is None:
                raise TokenNotFoundError(f"no token named {name[:80]!r}")
            if row.revoked_at is None:
                row.revoked_at = datetime.now(UTC)
            return _info(row)

        result: TokenInfo = self._run(op, write=True)
        return result

    def resolve_token(self, plain: str) -> Principal | None:
        """The scoped principal of an active token, or None (unknown, revoked or malformed)."""
        digest = lookup_digest(plain)
        if digest is None:
            return None

        def op(s: Session) -> Principal | None:
            row = s.scalar(select(TokenRow).where(TokenRow.token_hash == digest))
            if row is None or row.revoked_at is not None:
                return None
            return Principal.scoped(row.name, Scope.parse_many(row.scopes))

        result: Principal | None = self._run(op)
        return result
