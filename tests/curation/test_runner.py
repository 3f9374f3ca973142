from __future__ import annotations

from typing import ClassVar

import pytest

from curation.items import ClipItem, Item, SourceItem
from curation.runner import (
    AccountingError,
    PipelineError,
    SequentialRunner,
    check_stage_output,
    describe_pipeline,
    error_code,
    funnel,
    run_stage,
    validate_pipeline,
)
from curation.stages.base import ItemError, Resources, Stage
from tests.support.fake_stages import Measure


def _sources(n: int) -> list[Item]:
    return [SourceItem(source_id=f"s{i}", source_uri=f"u{i}", source_path=f"/p{i}") for i in range(n)]


class Fan(Stage):
    """Two clips per source; the second one filtered."""

    name: ClassVar[str] = "fan"
    requires: ClassVar[frozenset[str]] = frozenset({"fps"})
    populates: ClassVar[frozenset[str]] = frozenset({"clip_id", "span_start", "span_end"})
    resources: ClassVar[Resources] = Resources()
    consumes: ClassVar[type[Item]] = SourceItem
    fans_out: ClassVar[bool] = True

    def process(self, batch: list[Item]) -> list[Item]:
        out: list[Item] = []
        for src in batch:
            assert isinstance(src, SourceItem)
            out.append(src)
            for k in range(2):
                clip = ClipItem(clip_id=f"{src.source_id}-{k}", source_id=src.source_id, source_uri="",
                                source_path="", span_start=k, span_end=k + 1, fps=24.0, width=1, height=1)
                if k:
                    clip.filter_out("fan:second")
                out.append(clip)
        return out


class CountAll(Stage):
    name: ClassVar[str] = "count_all"
    requires: ClassVar[frozenset[str]] = frozenset({"clip_id"})
    populates: ClassVar[frozenset[str]] = frozenset({"motion_score"})
    resources: ClassVar[Resources] = Resources()
    consumes: ClassVar[type[Item]] = ClipItem
    whole_dataset: ClassVar[bool] = True

    def process(self, batch: list[Item]) -> list[Item]:
        for clip in batch:
            assert isinstance(clip, ClipItem)
            clip.motion_score = float(len(batch))
        return batch


def test_failures_are_isolated_to_their_item() -> None:
    items = _sources(5)
    items[1].source_path, items[3].source_path = "/x/bad", "/y/boom"  # type: ignore[attr-defined]
    stage = Measure()
    out = run_stage(stage, items)
    assert [it.status.value for it in out] == ["kept", "quarantined", "kept", "quarantined", "kept"]
    assert out[1].reason == "measure:bad_path" and "cannot read /x/bad" in out[1].error
    assert out[3].reason == "measure:key_error" and "KeyError" in out[3].error
    assert stage.calls[0] == 5 and stage.calls[1:] == [1] * 5  # whole batch, then one by one


def test_transient_errors_propagate() -> None:
    class Flaky(Measure):
        name: ClassVar[str] = "flaky"

        def process(self, batch: list[Item]) -> list[Item]:
            raise ConnectionError("store 503")

    with pytest.raises(ConnectionError):
        run_stage(Flaky(), _sources(2))


def test_sequential_runner_fans_out_and_accounts() -> None:
    items = _sources(5)
    items[2].source_path = "/bad"  # type: ignore[attr-defined]
    done = SequentialRunner(batch_size=2).run([Measure(), Fan(), CountAll()], items)
    counts = funnel(done)
    assert counts["source"] == {"kept": 4, "filtered": 0, "quarantined": 1, "measure:bad_path": 1}
    assert counts["clip"]["kept"] == 4 and counts["clip"]["filtered"] == 4
    kept_clips = [c for c in done if isinstance(c, ClipItem) and c.kept]
    assert {c.motion_score for c in kept_clips} == {4.0}  # whole-dataset stage saw every kept clip at once
    assert all(c.motion_score is None for c in done if isinstance(c, ClipItem) and not c.kept)


def test_validate_names_the_missing_field() -> None:
    with pytest.raises(PipelineError, match=r"'fan' requires \['fps'\]"):
        validate_pipeline([Fan()])
    validate_pipeline([Measure(), Fan(), CountAll()])
    with pytest.raises(PipelineError, match="count_all"):
        SequentialRunner().run([CountAll()], _sources(1))
    assert "1. measure (source)" in describe_pipeline([Measure(), Fan()])
    assert "[fan-out]" in describe_pipeline([Fan()])


def test_accounting_catches_dropped_invented_and_duplicated_items() -> None:
    received = _sources(3)
    with pytest.raises(AccountingError, match="dropped 1"):
        check_stage_output(Measure(), received, received[:2])
    with pytest.raises(AccountingError, match="duplicates"):
        check_stage_output(Measure(), received, [*received, received[0]])
    fanned = Fan().process(list(received))
    with pytest.raises(AccountingError, match="invented"):
        check_stage_output(Measure(), received, fanned)  # a non-fan-out stage may not add items
    counts = check_stage_output(Fan(), received, fanned)
    assert sum(counts.values()) == len(received)


def test_error_codes() -> None:
    assert error_code(ItemError("decode_failed", "x")) == "decode_failed"
    assert error_code(ZeroDivisionError()) == "zero_division_error"
    with pytest.raises(ValueError, match="snake_case"):
        ItemError("Bad Code", "x")
