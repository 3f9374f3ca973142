"""Coded registry errors and the one table that maps their codes to HTTP status.

The store raises only these (plus ``ValueError`` via :class:`InvalidInput`); the
HTTP API turns any of them into ``{"error": code, "message": ...}`` with the
status from :data:`HTTP_STATUS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from vidforge.errors import CodedError

# The class names below are the store's public contract (mlflow-style), hence no
# "Error" suffix: N818 is silenced per class.

NOT_FOUND = "not_found"
ALREADY_EXISTS = "already_exists"
INVALID_STATE = "invalid_state"
SCHEMA_OUT_OF_DATE = "schema_out_of_date"
INVALID_INPUT = "invalid_input"
UNAUTHENTICATED = "unauthenticated"
FORBIDDEN = "forbidden"
ALIAS_CONFLICT = "alias_conflict"
RULE_VIOLATION = "rule_violation"
METHOD_NOT_ALLOWED = "method_not_allowed"

HTTP_STATUS: dict[str, int] = {
    NOT_FOUND: 404,
    ALREADY_EXISTS: 409,
    INVALID_STATE: 409,
    SCHEMA_OUT_OF_DATE: 503,
    INVALID_INPUT: 422,
    UNAUTHENTICATED: 401,
    FORBIDDEN: 403,
    ALIAS_CONFLICT: 409,
    RULE_VIOLATION: 409,
    METHOD_NOT_ALLOWED: 405,
}
"""Error code → HTTP status; codes not listed map to 500."""


class RegistryError(CodedError):
    """Base of every registry error; ``code`` is a short stable string."""

    code: ClassVar[str] = "registry_error"
    status_table: ClassVar[Mapping[str, int]] = HTTP_STATUS


class NotFound(RegistryError):  # noqa: N818
    """A model, version, alias or parent version does not exist."""

    code = NOT_FOUND


class AlreadyExists(RegistryError):  # noqa: N818
    """A registered model with that name exists already."""

    code = ALREADY_EXISTS


class InvalidState(RegistryError):  # noqa: N818
    """The request conflicts with the registry's state (e.g. lost a version race)."""

    code = INVALID_STATE


class SchemaOutOfDate(RegistryError):  # noqa: N818
    """The database is not at the Alembic head this code expects."""

    code = SCHEMA_OUT_OF_DATE


class InvalidInput(RegistryError, ValueError):  # noqa: N818
    """An argument failed validation; also a ``ValueError``."""

    code = INVALID_INPUT


class Unauthenticated(RegistryError):  # noqa: N818
    """No valid token: missing, malformed, unknown or revoked."""

    code = UNAUTHENTICATED


class Forbidden(RegistryError):  # noqa: N818
    """The caller's role may not do this; the message names the role needed."""

    code = FORBIDDEN


class AliasConflict(RegistryError):  # noqa: N818
    """A compare-and-set alias move lost: the alias no longer points where the caller expected."""

    code = ALIAS_CONFLICT


class RuleViolation(RegistryError):  # noqa: N818
    """A governance rule refuses the change (four eyes, gate, rollback target); the message names it."""

    code = RULE_VIOLATION
