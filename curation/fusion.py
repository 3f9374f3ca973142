"""Stage fusion: which consecutive stages run in one worker, and how one batch runs through them.

Like Ray Data's operator fusion, a run of compatible stages becomes one
:class:`StageGroup` that one worker holds and runs, so what the stages hand each
other (decoded frames above all) never leaves the worker. :func:`fuse_stages`
decides the groups; :class:`GroupWorker` is one worker's copy of a group and runs a
batch through it exactly as :class:`~curation.runner.SequentialRunner` runs the
stages (``run_stage`` per stage, only the items still kept, per-stage accounting,
frames dropped after the last stage that reads them). Nothing here imports Ray:
:mod:`curation.runner_ray` makes :class:`GroupWorker` an actor.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from curation.runner import _merge, check_stage_output, release_frames, run_stage
from curation.stages.base import Resources

if TYPE_CHECKING:
    from curation.items import Item
    from curation.stages.base import Stage


@dataclass(frozen=True)
class StageGroup:
    """Consecutive stages that run together in one worker.

    Attributes:
        stages: the stages, in pipeline order.
        first: index of ``stages[0]`` in the run's stage list.
    """

    stages: tuple[Stage, ...]
    first: int

    @property
    def name(self) -> str:
        """The stage names joined by ``+`` (``clip+frames+motion``)."""
        return "+".join(stage.name for stage in self.stages)

    @property
    def resources(self) -> Resources:
        """What one worker of the group needs: the max cpus and the max gpus of its stages."""
        return max_resources(self.stages)

    @property
    def whole_dataset(self) -> bool:
        """Whether the group is a ``whole_dataset`` stage (such a stage is always alone)."""
        return self.stages[0].whole_dataset

    def release_after(self, last_frames: int) -> int:
        """Index in the group of the stage after which frames are dropped (-1: not in this group).

        Args:
            last_frames: :func:`~curation.runner.frames_last_used` of the run's stages.
        """
        index = last_frames - self.first
        return index if 0 <= index < len(self.stages) else -1


def max_resources(stages: Sequence[Stage]) -> Resources:
    """The max cpus and the max gpus of ``stages`` (what one worker running them all needs)."""
    return Resources(cpus=max(s.resources.cpus for s in stages), gpus=max(s.resources.gpus for s in stages))


def unmet_needs(resources: Resources, cluster: dict[str, float]) -> list[str]:
    """What one worker needs beyond the whole ``cluster`` (``["GPU: 1.0 > 0.0"]``), if anything.

    Args:
        cluster: total resources, Ray's names (``{"CPU": 2.0, "GPU": 1.0, ...}``).
    """
    needs = {"CPU": resources.cpus, "GPU": resources.gpus}
    return [f"{name}: {need} > {cluster.get(name, 0.0)}" for name, need in needs.items()
            if need > cluster.get(name, 0.0)]


def fuse_stages(stages: Sequence[Stage], cluster: dict[str, float], enabled: bool = True) -> list[StageGroup]:
    """Cut ``stages`` into groups that each run in one worker.

    A stage joins the group before it when fusion is ``enabled``, neither it nor that
    group is ``whole_dataset``, the group's last stage does not fan out (a fan-out
    stage ends its group, so its children are never fed to a later stage of it), it
    consumes the group's item type, and the group with it fits one worker: it needs no
    more than each of them alone, or no more than the ``cluster`` has.

    Args:
        cluster: total resources, Ray's names (``{"CPU": 2.0, "GPU": 1.0}``).
        enabled: False: one group per stage.

    Returns:
        The groups in order; every stage is in exactly one.
    """
    runs: list[list[Stage]] = []
    for stage in stages:
        if enabled and runs and _joins(runs[-1], stage, cluster):
            runs[-1].append(stage)
        else:
            runs.append([stage])
    groups, first = [], 0
    for run in runs:
        groups.append(StageGroup(tuple(run), first))
        first += len(run)
    return groups


def _joins(group: list[Stage], stage: Stage, cluster: dict[str, float]) -> bool:
    last = group[-1]
    if last.fans_out or last.whole_dataset or stage.whole_dataset or stage.consumes is not group[0].consumes:
        return False
    together = max_resources([*group, stage])
    return together == stage.resources == max_resources(group) or not unmet_needs(together, cluster)


@dataclass
class StageReport:
    """What one stage did in one worker call (or, summed with :meth:`add`, in a whole run).

    Attributes:
        inputs: items the stage received.
        counts: statuses of those items after the stage (``{"kept": 3, "filtered": 1}``).
        seconds: wall time inside the stage, summed over calls.
    """

    inputs: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, other: StageReport) -> None:
        """Add ``other``'s numbers to this report."""
        self.inputs += other.inputs
        self.counts = dict(Counter(self.counts) + Counter(other.counts))
        self.seconds += other.seconds


class GroupWorker:
    """One worker's copies of a group's stages: each set up once, then any number of batches."""

    def __init__(self, stages: Sequence[Stage]) -> None:
        self.stages = list(stages)

    def setup(self) -> int:
        """Set every stage up (load models, open clients); return this worker's pid."""
        for stage in self.stages:
            stage.setup()
        return os.getpid()

    def process(self, batch: list[Item], release_after: int = -1) -> tuple[list[Item], list[StageReport]]:
        """Run ``batch`` through the stages in order, as :class:`~curation.runner.SequentialRunner` does.

        Each stage gets the items still kept that it consumes (none: it is not called)
        through :func:`~curation.runner.run_stage`, so a failing item is quarantined with
        ``<stage>:<code>`` and later stages skip it; every stage's output is checked with
        :func:`~curation.runner.check_stage_output` before it is merged.

        Args:
            batch: kept items of the first stage's item type.
            release_after: index of the stage after which decoded frames are dropped (-1: never).

        Returns:
            Every item of the batch (and new children, appended) after the last stage, and one
            report per stage.

        Raises:
            curation.runner.AccountingError: a stage lost, duplicated or invented items.
            Exception: a transient error of a stage (see :func:`~curation.runner.run_stage`).
        """
        items = list(batch)
        reports = []
        for index, stage in enumerate(self.stages):
            todo = [it for it in items if it.kept and isinstance(it, stage.consumes)]
            started = time.perf_counter()
            returned = run_stage(stage, todo) if todo else []
            counts = check_stage_output(stage, todo, returned)
            reports.append(StageReport(len(todo), dict(counts), time.perf_counter() - started))
            items = _merge(items, returned)
            if index == release_after:
                release_frames(items)
        return items, reports
