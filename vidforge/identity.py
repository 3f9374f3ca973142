"""One identity system for every vidforge service: API tokens, roles and principals.

A token is 32 random bytes (256 bits) in URL-safe base64 behind a ``vf_``
prefix, shown once when it is created; services store only its SHA-256. (A slow
password hash buys nothing for a random 256-bit secret, and a plain digest lets
a request be resolved with one indexed look-up.) Every record of who did what
names the token's *name*, never a value the client chose.

Roles are ordered: each includes the rights of those below it.

=========  ==============================================================
viewer     read models, versions, aliases, approvals, audit
operator   + register versions, edit tags, move unprotected aliases
approver   + approve/reject versions, move protected aliases, roll back
admin      + tokens, model settings, webhooks
=========  ==============================================================

Scopes name what a token may do in a service that is not role-ordered (the
generation service): ``jobs:submit`` (submit and cancel its own jobs),
``jobs:read`` (read its own jobs and their results) and ``admin`` (everything,
including tokens). A service stores a token's scopes next to its digest; a
principal carries them, and :meth:`Principal.allows` checks one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

TOKEN_PREFIX = "vf_"
_TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 256
"""Longer bearer values are refused before hashing."""


class Role(IntEnum):
    """A principal's role; a higher value includes every lower one's rights."""

    VIEWER = 1
    OPERATOR = 2
    APPROVER = 3
    ADMIN = 4

    @classmethod
    def parse(cls, value: str) -> Role:
        """The role named ``value`` (case-insensitive). Raises ValueError naming the choices."""
        try:
            return cls[value.strip().upper()]
        except (KeyError, AttributeError):
            choices = ", ".join(r.label for r in cls)
            raise ValueError(f"unknown role {value!r}: choose one of {choices}") from None

    @property
    def label(self) -> str:
        """The lower-case name stored in databases and shown to people."""
        return self.name.lower()


class Scope(StrEnum):
    """A right a scoped token holds; ``admin`` includes every other scope."""

    JOBS_SUBMIT = "jobs:submit"
    JOBS_READ = "jobs:read"
    ADMIN = "admin"

    @classmethod
    def parse_many(cls, value: str | Iterable[str]) -> frozenset[Scope]:
        """Scopes from ``"jobs:submit,jobs:read"`` (or an iterable of names); at least one.

        Raises:
            ValueError: empty, or an unknown name (the message lists the choices).
        """
        names = value.split(",") if isinstance(value, str) else list(value)
        parsed = set()
        for name in (n.strip().lower() for n in names):
            if not name:
                continue
            try:
                parsed.add(cls(name))
            except ValueError:
                choices = ", ".join(s.value for s in cls)
                raise ValueError(f"unknown scope {name!r}: choose from {choices}") from None
        if not parsed:
            raise ValueError("give at least one scope: " + ", ".join(s.value for s in cls))
        return frozenset(parsed)

    @staticmethod
    def render(scopes: Iterable[Scope]) -> str:
        """The stored form: sorted names joined by commas."""
        return ",".join(sorted(s.value for s in scopes))


@dataclass(frozen=True)
class Principal:
    """An authenticated identity: the token's ``name``, ``role`` and ``scopes``.

    Registry tokens are role-ordered and carry no scopes; scoped tokens (the
    generation service's) carry scopes and the lowest role, which grants them
    nothing in the registry (whose tokens live in its own database anyway).
    """

    name: str
    role: Role
    scopes: frozenset[Scope] = field(default_factory=frozenset)

    def can(self, role: Role) -> bool:
        """Whether this principal holds ``role`` (or a higher one)."""
        return self.role >= role

    def allows(self, scope: Scope) -> bool:
        """Whether this principal holds ``scope`` (``admin`` holds them all)."""
        return scope in self.scopes or Scope.ADMIN in self.scopes

    @classmethod
    def scoped(cls, name: str, scopes: Iterable[Scope]) -> Principal:
        """A scoped principal (role viewer: see the class docstring)."""
        return cls(name, Role.VIEWER, frozenset(scopes))


def new_token() -> tuple[str, str]:
    """A fresh token and its digest: ``(plain, sha256_hex)``. Show ``plain`` once; store the digest."""
    plain = TOKEN_PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)
    return plain, hash_token(plain)


def hash_token(plain: str) -> str:
    """The SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(plain.encode()).hexdigest()


def lookup_digest(plain: object) -> str | None:
    """The digest to look a presented token up by, or None when it cannot be a token (empty, too long, not text)."""
    if not isinstance(plain, str) or not plain or len(plain) > MAX_TOKEN_LENGTH:
        return None
    return hash_token(plain)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value, or None when absent or malformed."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or len(value) > MAX_TOKEN_LENGTH:
        return None
    return value


def same_secret(a: str, b: str) -> bool:
    """Constant-time string comparison (CSRF tokens, signatures)."""
    return hmac.compare_digest(a.encode(), b.encode())
