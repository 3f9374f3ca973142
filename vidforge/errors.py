"""A base for domain errors that carry a stable code and map to an HTTP status in one table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar


class CodedError(Exception):
    """An error with a short stable ``code``; ``status_table`` maps codes to HTTP status.

    Each service defines one subclass with its own table (one mapping per service);
    codes not in the table map to 500.
    """

    code: ClassVar[str] = "error"
    status_table: ClassVar[Mapping[str, int]] = {}

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def http_status(self) -> int:
        """The HTTP status for this error's code (500 when unmapped)."""
        return self.status_table.get(self.code, 500)
