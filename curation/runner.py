"""Running stages: validation, per-item error isolation, accounting, and the in-process runner.

Everything a runner needs besides scheduling lives in plain functions here
(:func:`validate_pipeline`, :func:`describe_pipeline`, :func:`run_stage`,
:func:`check_stage_output`), so a Ray runner implements the same
:class:`Runner` protocol by calling them inside its actors.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Protocol, TypeVar

from curation.items import INITIAL_FIELDS, Item
from curation.reasons import unexpected_error
from curation.stages.base import ItemError, Stage
from vidforge.dataset import Status
from vidforge.logging import get_logger
from vidforge.retry import is_transient

log = get_logger(__name__)

T = TypeVar("T")


class PipelineError(ValueError):
    """The stages cannot run in this order (a required field is never populated)."""


class AccountingError(AssertionError):
    """A stage lost, duplicated or invented items: inputs ≠ kept + filtered + quarantined."""


def validate_pipeline(stages: Sequence[Stage], initial: frozenset[str] = INITIAL_FIELDS) -> None:
    """Check that each stage's ``requires`` ⊆ fields populated before it.

    Raises:
        PipelineError: naming the first stage and the missing fields.
    """
    available = set(initial)
    for stage in stages:
        missing = stage.requires - available
        if missing:
            raise PipelineError(
                f"stage {stage.name!r} requires {sorted(missing)}, which no earlier stage populates "
                f"(available: {sorted(available)})"
            )
        available |= stage.populates


def describe_pipeline(stages: Sequence[Stage]) -> str:
    """A numbered, human-readable description of the stages."""
    return "\n".join(f"{i}. {stage.describe()}" for i, stage in enumerate(stages, 1))


def error_code(exc: BaseException) -> str:
    """The stable code of an exception: ``ItemError.code``, else its type in snake case."""
    if isinstance(exc, ItemError):
        return exc.code
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).lower()


def quarantine_error(stage: str, exc: BaseException) -> str:
    """The error a quarantined item records: ``ItemError: <message>`` for a code its stage raised on purpose,
    else the unexpected exception with the stage and where it was raised (:func:`curation.reasons.unexpected_error`)."""
    if isinstance(exc, ItemError):
        return f"{type(exc).__name__}: {exc}"
    return unexpected_error(stage, exc)


def run_stage(stage: Stage, batch: list[Item]) -> list[Item]:
    """``stage.process(batch)``, isolating failures to the item that caused them.

    When the batch raises, it is re-run item by item; an item that still raises
    is quarantined with ``reason="<stage>:<code>"`` and :func:`quarantine_error`'s message
    (an exception other than :class:`ItemError` is unexpected: see :mod:`curation.reasons`).
    Transient I/O errors (:func:`vidforge.retry.is_transient`) propagate so the task is retried.
    """
    try:
        return stage.process(list(batch))
    except Exception as exc:
        if is_transient(exc):
            raise
        if len(batch) > 1:
            log.warning("batch failed, isolating items", stage=stage.name, size=len(batch), error=str(exc))
            return [out for item in batch for out in run_stage(stage, [item])]
        item = batch[0]
        item.quarantine(f"{stage.name}:{error_code(exc)}", quarantine_error(stage.name, exc))
        log.warning("item quarantined", stage=stage.name, item_id=item.item_id, reason=item.reason,
                    error=item.error)
        return [item]


def _key(item: Item) -> tuple[str, str]:
    return (item.level, item.item_id)


def check_stage_output(stage: Stage, received: list[Item], returned: list[Item]) -> Counter[str]:
    """Assert the stage accounted for every input: inputs = kept + filtered + quarantined.

    Returns:
        Status counts of the received items after the stage.

    Raises:
        AccountingError: an input is missing or duplicated, a status is invalid,
            or a new item appeared that the stage may not create.
    """
    got = Counter(_key(it) for it in returned)
    dupes = [k for k, n in got.items() if n > 1]
    if dupes:
        raise AccountingError(f"stage {stage.name!r} returned duplicates: {dupes[:5]}")
    inputs = {_key(it) for it in received}
    missing = inputs - got.keys()
    if missing:
        raise AccountingError(f"stage {stage.name!r} dropped {len(missing)} item(s): {sorted(missing)[:5]}")
    parents = {it.item_id for it in received}
    for item in returned:
        if item.status not in tuple(Status):
            raise AccountingError(f"stage {stage.name!r} set invalid status {item.status!r}")
        if _key(item) not in inputs and not (stage.fans_out and item.parent_id in parents):
            raise AccountingError(f"stage {stage.name!r} invented item {_key(item)}")
    counts = Counter(str(it.status) for it in returned if _key(it) in inputs)
    if sum(counts.values()) != len(received):
        raise AccountingError(f"stage {stage.name!r}: {len(received)} inputs but statuses {dict(counts)}")
    return counts


def frames_last_used(stages: Sequence[Stage]) -> int:
    """Index of the last stage that reads decoded frames (-1: none); runners release frames after it."""
    return max((i for i, stage in enumerate(stages) if stage.uses_frames or "frames" in stage.populates),
               default=-1)


def release_frames(items: Sequence[Item]) -> None:
    """Drop the transient decoded frames of ``items`` (they never leave the signal stages)."""
    for item in items:
        if getattr(item, "frames", None) is not None:
            item.frames = None  # type: ignore[attr-defined]


def funnel(items: Sequence[Item]) -> dict[str, dict[str, int]]:
    """Per level: counts of each status and of each removal reason (``{"clip": {"kept": 3, ...}}``)."""
    out: dict[str, dict[str, int]] = {}
    for item in items:
        level = out.setdefault(item.level, {s.value: 0 for s in Status})
        level[str(item.status)] += 1
        if item.reason:
            level[item.reason] = level.get(item.reason, 0) + 1
    return out


class Runner(Protocol):
    """Runs validated stages over items; every item comes back with a final status."""

    def run(self, stages: Sequence[Stage], items: list[Item]) -> list[Item]:
        """Run ``stages`` in order over ``items``; return all items (inputs and fanned-out children)."""
        ...


def batches(items: list[T], size: int) -> Iterator[list[T]]:
    """Consecutive slices of ``items`` of ``size`` (the last one may be shorter)."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


class SequentialRunner:
    """In-process runner (tests, the embedded profile): one worker, batches in order."""

    def __init__(self, batch_size: int = 8, progress: bool = False) -> None:
        self.batch_size = batch_size
        self.progress = progress

    def run(self, stages: Sequence[Stage], items: list[Item]) -> list[Item]:
        """Validate, describe, set up, then run each stage over the kept items it consumes."""
        from tqdm.auto import tqdm

        validate_pipeline(stages)
        log.info("pipeline", stages=len(stages), description="\n" + describe_pipeline(stages))
        for stage in stages:
            stage.setup()
        items = list(items)
        last_frames = frames_last_used(stages)
        for index, stage in enumerate(stages):
            todo = [it for it in items if it.kept and isinstance(it, stage.consumes)]
            size = max(1, len(todo)) if stage.whole_dataset else self.batch_size
            returned: list[Item] = []
            bar = tqdm(total=len(todo), desc=stage.name, disable=not self.progress, leave=False)
            for batch in batches(todo, size):
                returned.extend(run_stage(stage, batch))
                bar.update(len(batch))
            bar.close()
            counts = check_stage_output(stage, todo, returned)
            log.info("stage done", stage=stage.name, inputs=len(todo), **counts)
            items = _merge(items, returned)
            if index == last_frames:
                release_frames(items)
        return items


def _merge(items: list[Item], returned: list[Item]) -> list[Item]:
    """``items`` with returned versions substituted in place and new children appended."""
    by_key = {_key(it): it for it in returned}
    merged = [by_key.pop(_key(it), it) for it in items]
    return merged + list(by_key.values())
