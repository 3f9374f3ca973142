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
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import IntEnum

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


@dataclass(frozen=True)
class Principal:
    """An authenticated identity: the token's ``name`` and ``role``."""

    name: str
    role: Role

    def can(self, role: Role) -> bool:
        """Whether this principal holds ``role`` (or a higher one)."""
        return self.role >= role


def new_token() -> tuple[str, str]:
    """A fresh token and its digest: ``(plain, sha256_hex)``. Show ``plain`` once; store the digest."""
    plain = TOKEN_PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)
    return plain, hash_token(plain)


def hash_token(plain: str) -> str:
    """The SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(plain.encode()).hexdigest()


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
