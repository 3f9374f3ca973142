"""The Ray runner: fused stage groups on actor pools that live across runs.

Scheduling only — what runs is the in-process runner's plain functions
(:func:`~curation.runner.run_stage`, :func:`~curation.runner.check_stage_output`,
:func:`~curation.runner.release_frames`) inside :class:`~curation.fusion.GroupWorker`
actors, so both runners give the same items, statuses and reasons.

Per run, :func:`~curation.fusion.fuse_stages` cuts the stages into groups
(``probe+split``, ``clip+frames+motion+text+captions[+clip_scores]``, ``filter``,
``upload`` for the default stages; one per stage with ``fuse=False``). Per group,
the driver picks the kept items the group consumes, cuts them into batches and hands
them to an :class:`ray.util.ActorPool`. Each actor holds its own copies of the
group's stages (unpickled from one ``ray.put``), sets each up once, and runs every
batch through all of them, so decoded frames stay in the actor and are dropped there
after the last stage that reads them. The actors check every stage's accounting per
batch and report per-stage counts; the driver logs them per stage, checks the group's
accounting as a whole and merges. A ``whole_dataset`` stage is a group of its own with
one actor and one batch. A later stage of a group gets what is left of the group's
batch (the sequential runner re-cuts the survivors); results are the same because a
stage maps each item on its own, as the stage contract requires.

Pools outlive a run: a resumable curation calls :meth:`RayRunner.run` once per chunk,
and a group whose stages pickle to the same bytes (same classes, same configuration)
reuses its pool — the actors and their loaded models — growing it when a bigger chunk
fits more actors. Stages keep no state across batches apart from what ``setup``
loads, and a pool whose run failed is killed, so reuse cannot change results. Idle
pools hold their CPUs/GPUs: when a group needs them, the least recently used other
pools are killed first; :meth:`RayRunner.close` kills all.

Pool size: ``min(max_actors_per_stage, batches, what the cluster's CPUs/GPUs fit)``
(at least one: on an autoscaling cluster a GPU stage waits for its node).

Why ``ActorPool`` and not Ray Data ``map_batches``: items are Python dataclasses
(with numpy frames), fan-out changes the item count, and accounting needs every
group's output on the driver anyway; ActorPool ships pickled objects with no Arrow
conversion, no streaming-executor start-up and no resource reservation — which keeps
a 2-CPU local cluster from stalling. Ray is imported only here; stages never import it.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ray
from ray import cloudpickle
from ray.exceptions import RayTaskError
from ray.util import ActorPool

from curation.fusion import GroupWorker, StageGroup, StageReport, fuse_stages, unmet_needs
from curation.runner import (
    AccountingError,
    _merge,
    batches,
    check_stage_output,
    describe_pipeline,
    frames_last_used,
    release_frames,
    validate_pipeline,
)
from vidforge.logging import get_logger

if TYPE_CHECKING:
    from curation.config import CurationConfig
    from curation.items import Item
    from curation.stages.base import Resources, Stage

log = get_logger(__name__)

_RemoteWorker = ray.remote(GroupWorker)


def pool_size(resources: Resources, batches: int, max_actors: int, cluster: dict[str, float]) -> int:
    """How many actors a group gets.

    Args:
        resources: what one actor needs.
        batches: batches the group will run (more actors than batches would idle).
        max_actors: the configured ceiling per group.
        cluster: ``ray.cluster_resources()`` (``{"CPU": 2.0, "GPU": 1.0, ...}``).

    Returns:
        ``min(max_actors, batches, actors the cluster fits by CPUs and GPUs)``, at least 1.
    """
    fits = [max_actors, batches]
    for need, have in ((resources.cpus, cluster.get("CPU", 0.0)), (resources.gpus, cluster.get("GPU", 0.0))):
        if need > 0:
            fits.append(math.floor(have / need + 1e-9))
    return max(1, min(fits))


def group_key(group: StageGroup) -> str:
    """SHA-256 of the pickled stages: equal for the same stage classes with the same configuration."""
    return hashlib.sha256(cloudpickle.dumps(list(group.stages))).hexdigest()


@dataclass
class _Pool:
    """The live actors of one group (kept across runs)."""

    name: str
    resources: Resources
    stages_ref: Any  # ray.ObjectRef of the stage list every actor unpickles
    actors: list[Any] = field(default_factory=list)
    used: int = 0  # the runner's tick at its last use: the least recently used pool is killed first


class RayRunner:
    """Runs stage groups on Ray actor pools; same :class:`~curation.runner.Runner` protocol as ``SequentialRunner``.

    Ray starts (or connects) on the first :meth:`run` and stays up across runs (a
    resumable curation calls ``run`` once per chunk) until :meth:`close` — or the
    ``with`` block, or the process, ends; so do the actor pools. When Ray was already
    initialised in this process, that session is used and never shut down by the runner
    (its pools are still killed on ``close``).

    Args:
        address: ``""`` starts a private local Ray with ``num_cpus`` CPUs; ``"auto"``
            joins the running cluster of this node (a Ray job on a KubeRay head);
            ``"ray://<head>:10001"`` connects a Ray Client to a remote cluster.
        num_cpus: CPUs of the private local Ray (None: all cores).
        max_actors_per_stage: most actors one stage group runs at once.
        batch_size: items per ``process`` call (one actor call).
        progress: show per-group progress bars.
        fuse: fuse consecutive compatible stages into one actor (:func:`fuse_stages`).
    """

    def __init__(
        self,
        address: str = "",
        num_cpus: int | None = None,
        max_actors_per_stage: int = 4,
        batch_size: int = 8,
        progress: bool = False,
        fuse: bool = True,
    ) -> None:
        if max_actors_per_stage < 1 or batch_size < 1:
            raise ValueError(f"max_actors_per_stage and batch_size must be ≥ 1, got "
                             f"{max_actors_per_stage} and {batch_size}")
        self.address = address
        self.num_cpus = num_cpus
        self.max_actors_per_stage = max_actors_per_stage
        self.batch_size = batch_size
        self.progress = progress
        self.fuse = fuse
        self._started = False
        self._pools: dict[str, _Pool] = {}
        self._tick = 0

    @classmethod
    def from_config(cls, config: CurationConfig, progress: bool = False) -> RayRunner:
        """The runner the profile's ``ray:`` section describes (batch size falls back to ``pipeline``)."""
        ray_cfg = config.ray
        return cls(
            address=ray_cfg.address,
            num_cpus=ray_cfg.num_cpus,
            max_actors_per_stage=ray_cfg.max_actors_per_stage,
            batch_size=ray_cfg.batch_size or config.pipeline.batch_size,
            progress=progress,
            fuse=ray_cfg.fuse_stages,
        )

    def start(self) -> None:
        """Start (or connect to) Ray unless this process already has a session."""
        if ray.is_initialized():
            return
        self._pools.clear()  # handles of a session that has ended
        kwargs: dict[str, Any] = {"address": self.address} if self.address else {
            "num_cpus": self.num_cpus, "include_dashboard": False}
        ray.init(**kwargs)
        self._started = True
        log.info("ray started", address=self.address or "local", resources=ray.cluster_resources())

    def close(self) -> None:
        """Kill the actor pools, then shut down the Ray session this runner started (a client disconnects)."""
        for key in list(self._pools):
            self._kill(key)
        if self._started:
            self._started = False
            ray.shutdown()

    def __enter__(self) -> RayRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, stages: Sequence[Stage], items: list[Item]) -> list[Item]:
        """Validate and describe, fuse, then run each group on its actor pool over the kept items it consumes.

        Raises:
            curation.runner.PipelineError: the stages cannot run in this order.
            curation.runner.AccountingError: a stage lost, duplicated or invented items.
            Exception: a transient error of a stage (or a failing ``setup``) is re-raised
                as the original exception so the task is retried.
        """
        validate_pipeline(stages)
        log.info("pipeline", stages=len(stages), runner="ray", description="\n" + describe_pipeline(stages))
        items = list(items)
        last_frames = frames_last_used(stages)
        self.start()
        groups = fuse_stages(stages, ray.cluster_resources(), self.fuse)
        log.info("stage groups", fused=self.fuse, groups=[group.name for group in groups])
        for group in groups:
            todo = [it for it in items if it.kept and isinstance(it, group.stages[0].consumes)]
            release_after = group.release_after(last_frames)
            started = time.perf_counter()
            returned, reports = self._run_group(group, todo, release_after)
            _check_group(group, todo, returned)
            for stage, report in zip(group.stages, reports, strict=True):
                log.info("stage done", stage=stage.name, inputs=report.inputs,
                         actor_seconds=round(report.seconds, 2), **report.counts)
            log.info("group done", group=group.name, inputs=len(todo), seconds=round(time.perf_counter() - started, 2))
            items = _merge(items, returned)
            if release_after >= 0:
                release_frames(items)
        return items

    def _run_group(
        self, group: StageGroup, todo: list[Item], release_after: int
    ) -> tuple[list[Item], list[StageReport]]:
        totals = [StageReport() for _ in group.stages]
        if not todo:
            return [], totals
        chunks = list(batches(todo, len(todo) if group.whole_dataset else self.batch_size))
        key = group_key(group)
        returned: list[Item] = []
        try:
            pool = self._pool(key, group, len(chunks))
            with _progress(group.name, len(todo), self.progress) as bar:
                results = ActorPool(pool.actors).map(
                    lambda actor, batch: actor.process.remote(batch, release_after), chunks)
                for batch, (out, reports) in zip(chunks, _unwrapped(results), strict=True):
                    returned.extend(out)
                    for total, report in zip(totals, reports, strict=True):
                        total.add(report)
                    bar.update(len(batch))
        except BaseException:
            self._kill(key)  # its actors may still hold this run's batches (or a half-done setup)
            raise
        return returned, totals

    def _pool(self, key: str, group: StageGroup, batches: int) -> _Pool:
        """The group's pool (reused when its stages pickle alike), grown to what ``batches`` and the cluster fit."""
        cluster = ray.cluster_resources()
        need = group.resources
        unmet = unmet_needs(need, cluster)
        if unmet and not self.address:  # a local Ray never grows: the actor would wait forever
            raise ValueError(f"stage {group.name!r} needs more than this local Ray has ({', '.join(unmet)})")
        if unmet:
            log.warning("stage waits for the cluster to grow", stage=group.name, unmet=unmet)
        want = pool_size(need, batches, self.max_actors_per_stage, cluster)
        pool = self._pools.get(key)
        if not unmet:
            self._make_room(key, group.name, need, max(want, len(pool.actors) if pool else 0), cluster)
        if pool is None:
            pool = self._pools[key] = _Pool(group.name, need, ray.put(list(group.stages)))
        self._tick += 1
        pool.used = self._tick
        options = {"num_cpus": need.cpus, "num_gpus": need.gpus}
        new = [_RemoteWorker.options(**options).remote(pool.stages_ref) for _ in range(want - len(pool.actors))]
        pool.actors.extend(new)  # before setup: a failing setup kills them with the pool
        pids = _get([actor.setup.remote() for actor in new])
        log.info("stage workers ready", stage=group.name, actors=len(pool.actors), new_pids=pids,
                 reused=len(pool.actors) - len(new), batches=batches)
        return pool

    def _make_room(self, key: str, name: str, need: Resources, actors: int, cluster: dict[str, float]) -> None:
        """Kill the least recently used other pools until ``actors`` actors of ``need`` fit beside the rest."""
        for other in sorted((k for k in self._pools if k != key), key=lambda k: self._pools[k].used):
            held = [p for k, p in self._pools.items() if k != key]
            cpus = sum(len(p.actors) * p.resources.cpus for p in held) + actors * need.cpus
            gpus = sum(len(p.actors) * p.resources.gpus for p in held) + actors * need.gpus
            if cpus <= cluster.get("CPU", 0.0) + 1e-9 and gpus <= cluster.get("GPU", 0.0) + 1e-9:
                return
            log.info("idle stage workers stopped to make room", stage=self._pools[other].name,
                     actors=len(self._pools[other].actors), for_stage=name)
            self._kill(other)

    def _kill(self, key: str) -> None:
        pool = self._pools.pop(key, None)
        if pool is None or not ray.is_initialized():
            return
        for actor in pool.actors:
            ray.kill(actor)


def _check_group(group: StageGroup, todo: list[Item], returned: list[Item]) -> None:
    """The group's accounting as a whole (each stage's was checked in the actor, per batch)."""
    try:
        check_stage_output(group.stages[-1], todo, returned)  # only the last stage may fan out
    except AccountingError as exc:
        if len(group.stages) == 1:
            raise
        raise AccountingError(f"stage group {group.name!r}: {exc}") from exc


def _get(refs: list[Any]) -> list[Any]:
    """``ray.get`` that re-raises a remote failure as the stage's own exception (transient stays transient)."""
    try:
        return list(ray.get(refs))
    except RayTaskError as exc:
        raise _cause(exc) from exc


def _unwrapped(results: Iterator[Any]) -> Iterator[Any]:
    try:
        yield from results
    except RayTaskError as exc:
        raise _cause(exc) from exc


def _cause(exc: RayTaskError) -> BaseException:
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, Exception) else exc


@contextmanager
def _progress(desc: str, total: int, enabled: bool) -> Iterator[Any]:
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, disable=not enabled, leave=False)
    try:
        yield bar
    finally:
        bar.close()
