"""Input checks used by the store."""

from __future__ import annotations

import pytest

from services.registry import validation as v
from services.registry.errors import InvalidInput


def test_valid_values_are_normalised() -> None:
    assert v.check_name("vidforge-i2v_1.0") == "vidforge-i2v_1.0"
    assert v.check_name("x" * 128) == "x" * 128
    assert v.check_sha256("AB" * 32) == "ab" * 32
    assert v.check_metrics({"fvd": 3}) == {"fvd": 3.0}
    assert v.check_metrics(None) == {}
    assert v.check_actor("  alice ") == "alice"
    assert v.check_version(1) == 1
    assert v.check_uri("s3://b/runs/r1", ["s3://b"]) == "s3://b/runs/r1"
    assert v.check_uri("", ["s3://b"], required=False) == ""
    assert v.check_reason("  flicker ") == "flicker"


@pytest.mark.parametrize(
    "call",
    [
        lambda: v.check_name(""),
        lambda: v.check_name("x" * 129),
        lambda: v.check_name("a/b"),
        lambda: v.check_name("ünïcode"),
        lambda: v.check_sha256("a" * 63),
        lambda: v.check_sha256("g" * 64),
        lambda: v.check_metrics({"a": float("inf")}),
        lambda: v.check_metrics({"a": True}),
        lambda: v.check_metrics({"": 1.0}),
        lambda: v.check_version(0),
        lambda: v.check_version(False),
        lambda: v.check_decision("Approved"),
        lambda: v.check_limit(10_001),
        lambda: v.check_text("x" * 257, "run_id", 256),
        lambda: v.check_uri("  ", ["s3://b"]),
        lambda: v.check_uri("s3://c/x", ["s3://b"]),
        lambda: v.check_text("a\x00b", "comment"),
        lambda: v.check_reason("   "),
        lambda: v.check_tag("k k", "v"),
        lambda: v.check_gate_checks([1]),
        lambda: v.check_version(2**31),
    ],
)
def test_invalid_values_raise_invalid_input(call: object) -> None:
    with pytest.raises(InvalidInput):
        call()  # type: ignore[operator]
