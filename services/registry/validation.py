"""Input checks run by the store before it opens a session.

Each check returns the normalised value or raises
:class:`~services.registry.errors.InvalidInput` (a ``ValueError``) naming the
offending argument and value.
"""

from __future__ import annotations

import math
import re

from services.registry.errors import InvalidInput
from services.registry.models import NAME_LENGTH

_NAME_RE = re.compile(r"[A-Za-z0-9._-]+")
_SHA256_RE = re.compile(r"[0-9a-fA-F]{64}")
DECISIONS = ("approved", "rejected")
"""The allowed approval decisions."""


def check_name(value: str, what: str = "name") -> str:
    """A model or alias name: 1..128 characters from ``[A-Za-z0-9._-]``."""
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{what} must be a non-empty string, got {value!r}")
    if len(value) > NAME_LENGTH:
        raise InvalidInput(f"{what} is longer than {NAME_LENGTH} characters: {value[:40]!r}...")
    if not _NAME_RE.fullmatch(value):
        raise InvalidInput(f"{what} may only contain letters, digits, '.', '_' and '-', got {value!r}")
    return value


def check_actor(value: str, what: str = "actor") -> str:
    """A person or system name: non-blank, at most 128 characters."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{what} must be a non-empty string, got {value!r}")
    if len(value) > NAME_LENGTH:
        raise InvalidInput(f"{what} is longer than {NAME_LENGTH} characters")
    return value.strip()


def check_version(value: int, what: str = "version") -> int:
    """A version number: an int ≥ 1 (bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"{what} must be an integer >= 1, got {value!r}")
    return value


def check_sha256(value: str) -> str:
    """A SHA-256 hex digest (64 hex characters), returned lower-case."""
    if not isinstance(value, str) or not _SHA256_RE.fullmatch(value):
        raise InvalidInput(f"sha256 must be 64 hexadecimal characters, got {value!r}")
    return value.lower()


def check_uri(value: str) -> str:
    """An artifact URI: a non-blank string."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"artifact_uri must be a non-empty string, got {value!r}")
    return value.strip()


def check_metrics(metrics: dict[str, float] | None) -> dict[str, float]:
    """Metric name → finite number, returned as floats (bools and NaN/inf rejected)."""
    if metrics is None:
        return {}
    if not isinstance(metrics, dict):
        raise InvalidInput(f"metrics must be a dict of name -> number, got {type(metrics).__name__}")
    out: dict[str, float] = {}
    for key, value in metrics.items():
        if not isinstance(key, str) or not key:
            raise InvalidInput(f"metric names must be non-empty strings, got {key!r}")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidInput(f"metric {key!r} must be a finite number, got {value!r}")
        out[key] = float(value)
    return out


def check_decision(value: str) -> str:
    """An approval decision, one of :data:`DECISIONS`."""
    if value not in DECISIONS:
        raise InvalidInput(f"decision must be one of {DECISIONS}, got {value!r}")
    return value


def check_limit(value: int) -> int:
    """A page size: an int from 1 to 10 000."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10_000:
        raise InvalidInput(f"limit must be an integer in [1, 10000], got {value!r}")
    return value


def check_text(value: str, what: str, max_length: int | None = None) -> str:
    """A free-text field: a string, optionally at most ``max_length`` characters."""
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a string, got {type(value).__name__}")
    if max_length is not None and len(value) > max_length:
        raise InvalidInput(f"{what} is longer than {max_length} characters")
    return value
