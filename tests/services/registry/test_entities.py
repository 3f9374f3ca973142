"""Entities serialise to plain JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from services.registry.entities import Approval, AuditEvent, ModelVersion, RegisteredModel

AT = datetime(2025, 5, 6, 7, 8, 9, tzinfo=UTC)


def test_to_dict_round_trips_through_json() -> None:
    version = ModelVersion("m", 2, "s3://b/k", "a" * 64, {"fvd": 1.0}, "ds", "c", "r", 1, "ci", AT, "", ("prod",))
    values = [
        RegisteredModel("m", "d", AT, {"prod": 2}),
        version,
        Approval("m", 2, "alice", "approved", "", AT),
        AuditEvent(1, AT, "ci", "create_version", "m", 2, {"sha256": "a" * 64}),
    ]
    for value in values:
        decoded = json.loads(json.dumps(value.to_dict()))
        assert decoded == value.to_dict()
    as_dict = version.to_dict()
    assert as_dict["created_at"] == "2025-05-06T07:08:09+00:00"
    assert as_dict["aliases"] == ["prod"]
    assert as_dict["parent_version"] == 1
