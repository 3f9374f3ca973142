"""Error codes and their one HTTP status table."""

from __future__ import annotations

import pytest

from services.registry import errors


@pytest.mark.parametrize(
    ("cls", "code", "status"),
    [
        (errors.NotFound, "not_found", 404),
        (errors.AlreadyExists, "already_exists", 409),
        (errors.InvalidState, "invalid_state", 409),
        (errors.SchemaOutOfDate, "schema_out_of_date", 503),
        (errors.InvalidInput, "invalid_input", 422),
    ],
)
def test_codes_map_to_http_status(cls: type[errors.RegistryError], code: str, status: int) -> None:
    exc = cls("boom")
    assert (exc.code, exc.http_status, exc.message, str(exc)) == (code, status, "boom", "boom")
    assert errors.HTTP_STATUS[code] == status


def test_unmapped_code_is_500_and_invalid_input_is_a_value_error() -> None:
    assert errors.RegistryError("x").http_status == 500
    assert issubclass(errors.InvalidInput, ValueError)
