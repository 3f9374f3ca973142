"""ORM details: UTC timestamps and named constraints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from services.registry.models import Base, UTCDateTime


def test_utc_datetime_stores_utc_and_rejects_naive_values() -> None:
    column = UTCDateTime()
    paris = datetime(2025, 1, 1, 13, 0, tzinfo=timezone(timedelta(hours=1)))
    assert column.process_bind_param(paris, sqlite.dialect()) == datetime(2025, 1, 1, 12, 0)
    assert column.process_bind_param(paris, postgresql.dialect()) == datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    assert column.process_result_value(datetime(2025, 1, 1, 12, 0), sqlite.dialect()) == datetime(
        2025, 1, 1, 12, 0, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="naive"):
        column.process_bind_param(datetime(2025, 1, 1), sqlite.dialect())


def test_every_constraint_is_named() -> None:
    for table in Base.metadata.sorted_tables:
        for constraint in table.constraints:
            assert constraint.name, f"unnamed constraint on {table.name}"
        for index in table.indexes:
            assert index.name, f"unnamed index on {table.name}"
