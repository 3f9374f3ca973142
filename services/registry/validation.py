"""Input checks run by the store before it opens a session.

Each check returns the normalised value or raises
:class:`~services.registry.errors.InvalidInput` (a ``ValueError``) naming the
offending argument and value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from services.registry.errors import InvalidInput
from services.registry.models import NAME_LENGTH
from vidforge.uris import UriNotAllowed, check_storage_uri, check_webhook_url

_NAME_RE = re.compile(r"[A-Za-z0-9._-]+")
_SHA256_RE = re.compile(r"[0-9a-fA-F]{64}")
_TAG_KEY_RE = re.compile(r"[A-Za-z0-9._:/-]+")
DECISIONS = ("approved", "rejected")
"""The allowed approval decisions."""
MAX_INT = 2**31 - 1
"""Largest version number (the databases' 32-bit INTEGER)."""
MAX_METRICS = 256
MAX_TEXT = 10_000
"""Descriptions and comments."""
MAX_TAG_VALUE = 4096
MAX_TAGS = 64
MAX_GATE_CHECKS = 100


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
    """A token (identity) name: non-blank, at most 128 characters."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{what} must be a non-empty string, got {value!r}")
    if len(value) > NAME_LENGTH:
        raise InvalidInput(f"{what} is longer than {NAME_LENGTH} characters")
    return value.strip()


def check_version(value: int, what: str = "version") -> int:
    """A version number: an int from 1 to :data:`MAX_INT` (bools and strings rejected)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_INT:
        raise InvalidInput(f"{what} must be an integer from 1 to {MAX_INT}, got {value!r}")
    return value


def check_optional_version(value: int | None, what: str) -> int | None:
    """None, or a version number (see :func:`check_version`)."""
    return None if value is None else check_version(value, what)


def check_sha256(value: str) -> str:
    """A SHA-256 hex digest (64 hex characters), returned lower-case."""
    if not isinstance(value, str) or not _SHA256_RE.fullmatch(value):
        raise InvalidInput(f"sha256 must be 64 hexadecimal characters, got {value!r}")
    return value.lower()


def check_uri(value: str, prefixes: Sequence[str], what: str = "artifact_uri", required: bool = True) -> str:
    """A storage URI under one of ``prefixes`` (see :mod:`vidforge.uris`); ``""`` allowed unless ``required``."""
    if not required and value == "":
        return ""
    try:
        return check_storage_uri(value, prefixes, what)
    except UriNotAllowed as exc:
        raise InvalidInput(str(exc)) from None


def check_url(value: str, hosts: Sequence[str]) -> str:
    """A webhook URL to an allowed host (see :mod:`vidforge.uris`)."""
    try:
        return check_webhook_url(value, hosts)
    except UriNotAllowed as exc:
        raise InvalidInput(str(exc)) from None


def check_metrics(metrics: dict[str, float] | None) -> dict[str, float]:
    """Metric name → finite number, returned as floats (bools and NaN/inf rejected)."""
    if metrics is None:
        return {}
    if not isinstance(metrics, dict):
        raise InvalidInput(f"metrics must be a dict of name -> number, got {type(metrics).__name__}")
    if len(metrics) > MAX_METRICS:
        raise InvalidInput(f"at most {MAX_METRICS} metrics, got {len(metrics)}")
    out: dict[str, float] = {}
    for key, value in metrics.items():
        if not isinstance(key, str) or not key or len(key) > NAME_LENGTH:
            raise InvalidInput(f"metric names must be strings of 1 to {NAME_LENGTH} characters, got {key!r:.60}")
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


def check_text(value: str, what: str, max_length: int = MAX_TEXT) -> str:
    """A free-text field: a string of at most ``max_length`` characters, without NUL."""
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a string, got {type(value).__name__}")
    if len(value) > max_length:
        raise InvalidInput(f"{what} is longer than {max_length} characters")
    if "\x00" in value:
        raise InvalidInput(f"{what} may not contain NUL characters")
    return value


def check_reason(value: str, what: str = "reason") -> str:
    """A required free-text reason (rejections, rollbacks): non-blank, at most :data:`MAX_TEXT` characters."""
    value = check_text(value, what)
    if not value.strip():
        raise InvalidInput(f"{what} is required")
    return value.strip()


def check_tag(key: str, value: str) -> tuple[str, str]:
    """A tag: key of 1..128 characters from ``[A-Za-z0-9._:/-]``, value up to :data:`MAX_TAG_VALUE`."""
    if not isinstance(key, str) or not key or len(key) > NAME_LENGTH or not _TAG_KEY_RE.fullmatch(key):
        raise InvalidInput(f"tag key must be 1 to {NAME_LENGTH} characters from [A-Za-z0-9._:/-], got {key!r:.60}")
    return key, check_text(value, f"tag {key!r}", MAX_TAG_VALUE)


def check_gate_checks(checks: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Gate rule outcomes: at most :data:`MAX_GATE_CHECKS` JSON objects."""
    if checks is None:
        return []
    if not isinstance(checks, list) or not all(isinstance(c, dict) for c in checks):
        raise InvalidInput("gate_checks must be a list of objects")
    if len(checks) > MAX_GATE_CHECKS:
        raise InvalidInput(f"at most {MAX_GATE_CHECKS} gate checks, got {len(checks)}")
    return [dict(c) for c in checks]
