"""Identifiers: sortable, readable, safe in paths, object keys and pod names."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime


def new_id(prefix: str) -> str:
    """``<prefix>-yyyymmddthhmmss-<6 hex>``: lower case, sorts by creation time."""
    stamp = datetime.now(UTC).strftime("%Y%m%dt%H%M%S")
    return f"{prefix}-{stamp}-{secrets.token_hex(3)}"


def secret_id(prefix: str, nbytes: int = 16) -> str:
    """``<prefix>-<2*nbytes hex>`` with ``8*nbytes`` random bits (default 128): unguessable, not sortable."""
    if nbytes < 16:
        raise ValueError(f"secret ids need >= 16 random bytes, got {nbytes}")
    return f"{prefix}-{secrets.token_hex(nbytes)}"


def content_id(*parts: str, length: int = 16) -> str:
    """A stable id derived from ``parts`` (sha256, hex, ``length`` chars)."""
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode())
        h.update(b"\0")
    return h.hexdigest()[:length]
