"""Tests of :mod:`curation.reasons`: the known codes are every code a stage records, and an unexpected
exception's quarantine names the stage, the exception and where it was raised."""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

from curation.items import ClipItem, Item, SourceItem
from curation.reasons import CODES, KNOWN_REASONS, is_known, unexpected_error, unexpected_quarantines
from curation.runner import run_stage
from curation.stages.base import Resources, Stage
from curation.stages.filter import ORDER

STAGES = Path(__file__).resolve().parents[2] / "curation" / "stages"


def _stage_codes(source: str) -> tuple[str, set[str]]:
    """A stage module's name and every code it raises or filters with (decode_errors: too_short/decode_failed)."""
    name = re.search(r'name: ClassVar\[str\] = "(\w+)"', source)
    assert name is not None
    codes = set(re.findall(r'ItemError\(\s*"(\w+)"', source))
    codes |= set(re.findall(r'filter_out\(f?"(?:\{self\.name\}|\w+):(\w+)"', source))
    if "decode_errors()" in source:
        codes.add("too_short")
    if re.search(r"decode_errors\(\w", source):
        codes |= {"too_short", "decode_failed"}
    return name.group(1), codes


def test_every_code_a_stage_records_is_known() -> None:
    found: dict[str, set[str]] = {}
    for module in sorted(STAGES.glob("*.py")):
        source = module.read_text()
        if "class " in source and "(Stage)" in source:
            name, codes = _stage_codes(source)
            found[name] = codes
    assert found["probe"] >= {"not_found", "truncated", "no_frames"} and found["clip"] >= {"copy_failed"}
    for name, codes in found.items():
        assert codes <= CODES.get(name, frozenset()), (name, codes - CODES.get(name, frozenset()))
    assert CODES["filter"] == frozenset(ORDER)


def test_known_and_unexpected_reasons() -> None:
    assert is_known("probe:truncated") and is_known("filter:motion_percentile") and is_known("split:too_short")
    assert not is_known("probe:permission_error") and not is_known("clip:value_error") and not is_known("")
    assert all(reason.count(":") == 1 for reason in KNOWN_REASONS)


class _Reads(Stage):
    """Reads each source's packet index: an exception inside curation code it calls is unexpected."""

    name: ClassVar[str] = "reads"
    requires: ClassVar[frozenset[str]] = frozenset({"source_path"})
    populates: ClassVar[frozenset[str]] = frozenset()
    resources: ClassVar[Resources] = Resources()
    consumes: ClassVar[type[Item]] = SourceItem

    def process(self, batch: list[Item]) -> list[Item]:
        from curation.media.remux import index_packets

        for item in batch:
            assert isinstance(item, SourceItem)
            index_packets(item.source_path)
        return batch


def test_an_unexpected_exception_names_stage_exception_and_where(tmp_path: Path) -> None:
    missing = tmp_path / "missing.mp4"
    (out,) = run_stage(_Reads(), [SourceItem(source_id="s", source_uri=missing.as_uri(), source_path=str(missing))])
    assert out.reason == "reads:file_not_found_error" and not is_known(out.reason)
    assert out.error.startswith("unexpected FileNotFoundError in stage 'reads' (at curation/media/remux.py:")
    assert "in index_packets): " in out.error and str(missing) in out.error
    try:
        raise KeyError("k")
    except KeyError as e:  # raised outside curation: the innermost frame, by file name
        assert unexpected_error("s", e).startswith("unexpected KeyError in stage 's' (at test_reasons.py:")


def test_unexpected_quarantines_lists_sources_then_clips() -> None:
    source = SourceItem(source_id="a", source_uri="file:///a.mkv", source_path="/a.mkv")
    bad = SourceItem(source_id="b", source_uri="file:///b.mkv", source_path="/b.mkv")
    clip = ClipItem(clip_id="c", source_id="a", source_uri="file:///a.mkv", source_path="/a.mkv", span_start=0,
                    span_end=24, fps=24.0, width=8, height=8)
    other = ClipItem(clip_id="d", source_id="a", source_uri="file:///a.mkv", source_path="/a.mkv", span_start=24,
                     span_end=48, fps=24.0, width=8, height=8)
    clip.quarantine("frames:value_error", "unexpected ValueError in stage 'frames': x")
    bad.quarantine("probe:permission_error", "unexpected PermissionError in stage 'probe': [Errno 1]")
    other.quarantine("clip:copy_failed", "ItemError: short")  # a known code: not listed
    assert unexpected_quarantines([source, clip, other, bad]) == [
        {"level": "source", "id": "file:///b.mkv", "source_uri": "file:///b.mkv", "reason": "probe:permission_error",
         "error": "unexpected PermissionError in stage 'probe': [Errno 1]"},
        {"level": "clip", "id": "c", "source_uri": "file:///a.mkv", "reason": "frames:value_error",
         "error": "unexpected ValueError in stage 'frames': x"},
    ]
