"""The Ray runner: each stage runs on its own pool of Ray actors, set up once per actor.

Scheduling only — everything else is the in-process runner's plain functions
(:func:`~curation.runner.validate_pipeline`, :func:`~curation.runner.run_stage`,
:func:`~curation.runner.check_stage_output`, :func:`~curation.runner.release_frames`),
so both runners give the same items, statuses and reasons.

Per stage, the driver picks the kept items the stage consumes, cuts them into
batches and hands the batches to an :class:`ray.util.ActorPool` of
:class:`StageWorker` actors. Each actor holds its own copy of the stage
(unpickled from one ``ray.put``), calls ``stage.setup()`` once, then runs
``run_stage`` on every batch it is given (per-item error isolation happens in the
actor). Results come back in batch order; the driver checks the accounting,
merges, and kills the pool before the next stage starts so its CPUs/GPUs go to
that stage. A ``whole_dataset`` stage gets one actor and one batch with every
item. The last stage that reads decoded frames drops them inside the actor, so
they never travel back.

Why ``ActorPool`` and not Ray Data ``map_batches``: items are Python dataclasses
(with numpy frames), fan-out changes the item count, and accounting needs every
stage's full output on the driver anyway; ActorPool ships them as pickled objects
with no Arrow conversion, no streaming-executor start-up and no resource
reservation — which keeps a 2-CPU local cluster from stalling.

Pool size: ``min(max_actors_per_stage, batches, what the cluster's CPUs/GPUs fit)``
(at least one: on an autoscaling cluster a GPU stage waits for its node). Ray is
imported only here; stages never import it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import ray
from ray.exceptions import RayTaskError
from ray.util import ActorPool

from curation.runner import (
    _batches,
    _merge,
    check_stage_output,
    describe_pipeline,
    frames_last_used,
    release_frames,
    run_stage,
    validate_pipeline,
)
from vidforge.logging import get_logger

if TYPE_CHECKING:
    from curation.config import CurationConfig
    from curation.items import Item
    from curation.stages.base import Stage

log = get_logger(__name__)


class StageWorker:
    """One actor's copy of one stage: ``setup()`` once, then any number of batches."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage

    def setup(self) -> int:
        """Set the stage up (load models, open clients); return this worker's pid."""
        import os

        self.stage.setup()
        return os.getpid()

    def process(self, batch: list[Item], release: bool) -> list[Item]:
        """:func:`~curation.runner.run_stage` on one batch; drop decoded frames when ``release``."""
        out = run_stage(self.stage, batch)
        if release:
            release_frames(out)
        return out


_RemoteWorker = ray.remote(StageWorker)


def pool_size(stage: Stage, batches: int, max_actors: int, cluster: dict[str, float]) -> int:
    """How many actors a stage gets.

    Args:
        batches: batches the stage will run (more actors than batches would idle).
        max_actors: the configured ceiling per stage.
        cluster: ``ray.cluster_resources()`` (``{"CPU": 2.0, "GPU": 1.0, ...}``).

    Returns:
        ``min(max_actors, batches, actors the cluster fits by CPUs and GPUs)``, at least 1.
    """
    fits = [max_actors, batches]
    for need, have in _needs(stage, cluster).values():
        if need > 0:
            fits.append(math.floor(have / need + 1e-9))
    return max(1, min(fits))


def unmet_needs(stage: Stage, cluster: dict[str, float]) -> list[str]:
    """What one actor of ``stage`` needs beyond the whole ``cluster`` (``["GPU: 1.0 > 0.0"]``), if anything."""
    return [f"{name}: {need} > {have}" for name, (need, have) in _needs(stage, cluster).items() if need > have]


def _needs(stage: Stage, cluster: dict[str, float]) -> dict[str, tuple[float, float]]:
    return {"CPU": (stage.resources.cpus, cluster.get("CPU", 0.0)),
            "GPU": (stage.resources.gpus, cluster.get("GPU", 0.0))}


class RayRunner:
    """Runs stages on Ray actor pools; same :class:`~curation.runner.Runner` protocol as ``SequentialRunner``.

    Ray starts (or connects) on the first :meth:`run` and stays up across runs (a
    resumable curation calls ``run`` once per chunk) until :meth:`close` — or the
    ``with`` block, or the process, ends. When Ray was already initialised in this
    process, that session is used and never shut down by the runner.

    Args:
        address: ``""`` starts a private local Ray with ``num_cpus`` CPUs; ``"auto"``
            joins the running cluster of this node (a Ray job on a KubeRay head);
            ``"ray://<head>:10001"`` connects a Ray Client to a remote cluster.
        num_cpus: CPUs of the private local Ray (None: all cores).
        max_actors_per_stage: most actors one stage runs at once.
        batch_size: items per ``process`` call (one actor call).
        progress: show per-stage progress bars.
    """

    def __init__(
        self,
        address: str = "",
        num_cpus: int | None = None,
        max_actors_per_stage: int = 4,
        batch_size: int = 8,
        progress: bool = False,
    ) -> None:
        if max_actors_per_stage < 1 or batch_size < 1:
            raise ValueError(f"max_actors_per_stage and batch_size must be ≥ 1, got "
                             f"{max_actors_per_stage} and {batch_size}")
        self.address = address
        self.num_cpus = num_cpus
        self.max_actors_per_stage = max_actors_per_stage
        self.batch_size = batch_size
        self.progress = progress
        self._started = False

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
        )

    def start(self) -> None:
        """Start (or connect to) Ray unless this process already has a session."""
        if ray.is_initialized():
            return
        kwargs: dict[str, Any] = {"address": self.address} if self.address else {
            "num_cpus": self.num_cpus, "include_dashboard": False}
        ray.init(**kwargs)
        self._started = True
        log.info("ray started", address=self.address or "local", resources=ray.cluster_resources())

    def close(self) -> None:
        """Shut down the Ray session this runner started (a private local Ray stops; a client disconnects)."""
        if self._started:
            self._started = False
            ray.shutdown()

    def __enter__(self) -> RayRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, stages: Sequence[Stage], items: list[Item]) -> list[Item]:
        """Validate and describe, then run each stage on its actor pool over the kept items it consumes.

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
        for index, stage in enumerate(stages):
            todo = [it for it in items if it.kept and isinstance(it, stage.consumes)]
            started = time.perf_counter()
            returned = self._run_stage(stage, todo, release=index == last_frames)
            counts = check_stage_output(stage, todo, returned)
            log.info("stage done", stage=stage.name, inputs=len(todo),
                     seconds=round(time.perf_counter() - started, 2), **counts)
            items = _merge(items, returned)
            if index == last_frames:
                release_frames(items)
        return items

    def _run_stage(self, stage: Stage, todo: list[Item], release: bool) -> list[Item]:
        if not todo:
            return []
        size = len(todo) if stage.whole_dataset else self.batch_size
        batches = list(_batches(todo, size))
        cluster = ray.cluster_resources()
        unmet = unmet_needs(stage, cluster)
        if unmet and not self.address:  # a local Ray never grows: the actor would wait forever
            raise ValueError(f"stage {stage.name!r} needs more than this local Ray has ({', '.join(unmet)})")
        if unmet:
            log.warning("stage waits for the cluster to grow", stage=stage.name, unmet=unmet)
        n = pool_size(stage, len(batches), self.max_actors_per_stage, cluster)
        stage_ref = ray.put(stage)
        options = {"num_cpus": stage.resources.cpus, "num_gpus": stage.resources.gpus}
        actors = [_RemoteWorker.options(**options).remote(stage_ref) for _ in range(n)]
        try:
            pids = _get([actor.setup.remote() for actor in actors])
            log.info("stage workers ready", stage=stage.name, actors=n, pids=pids, batches=len(batches))
            pool = ActorPool(actors)
            returned: list[Item] = []
            with _progress(stage.name, len(todo), self.progress) as bar:
                results = pool.map(lambda actor, batch: actor.process.remote(batch, release), batches)
                for batch, out in zip(batches, _unwrapped(results), strict=True):
                    returned.extend(out)
                    bar.update(len(batch))
            return returned
        finally:
            for actor in actors:
                ray.kill(actor)


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
