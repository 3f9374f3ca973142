"""Model watcher: follow a registry alias over HTTP, load and warm up each new version, swap atomically.

A background thread resolves ``alias`` of ``registry.model_name`` through an
:class:`~services.serving.registry_client.AliasSource` (the registry's HTTP API)
every ``poll_interval_s``, or at once after :meth:`ModelWatcher.trigger` (the
registry's signed webhook calls it). A new version is fetched and verified
(:mod:`.artifacts`), loaded onto every worker's device and warmed up with one
tiny generation (:mod:`.loader`) in the watcher thread — never on a request —
and only then swapped in under a lock. Until then the previous model keeps
serving.

A version that fails (download, digest, allow-list, load, warm-up) is retried
with exponential backoff (``load_retry_base_s`` doubling up to
``load_retry_max_s``), not remembered until restart. Readiness tells the truth:
not ready before the first warmed-up model, nor while the alias points at a
version that failed to load (with the reason), nor while the alias is unset;
ready while a new version loads (the old one serves) and while the registry is
unreachable (the last known version serves).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from services.serving.artifacts import ArtifactCache, ArtifactRejectedError
from services.serving.errors import NoModelLoadedError
from services.serving.loader import LoadedModel, load_model, warm_up, worker_devices
from services.serving.registry_client import AliasNotSetError, AliasSource, RegistryClient, RegistryUnavailableError
from vidforge.logging import get_logger

if TYPE_CHECKING:
    from structlog.typing import FilteringBoundLogger

    from services.serving.metrics import ServingMetrics
    from services.serving.registry_client import AliasTarget
    from vidforge.settings import Settings

HISTORY = 256
"""Swaps remembered (``(at, version)``) for :attr:`ModelWatcher.history`."""


def _log() -> FilteringBoundLogger:
    return get_logger(__name__)


@dataclass(frozen=True)
class PollResult:
    """Outcome of one poll: ``loaded``, ``unchanged``, ``rejected``, ``backoff``, ``no_alias`` or ``error``."""

    outcome: str
    version: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class Readiness:
    """Whether this replica should take traffic, and why (or why not)."""

    ready: bool
    reason: str
    serving_version: int | None
    target_version: int | None


@dataclass
class _Failure:
    count: int
    retry_at: float
    reason: str


class ModelWatcher:
    """Follows the alias and keeps the current warmed-up :class:`LoadedModel`.

    Args:
        settings: ``registry.model_name``/``url``/``token``, ``serving.*`` (alias, cache, device,
            workers, backoff, warm-up), ``store``.
        metrics: loads, failures by reason, readiness and the model-info series.
        source_factory: builds the alias source (default :meth:`RegistryClient.from_settings`);
            called lazily, and again after a registry failure.
        devices: one device per worker (default :func:`worker_devices` from the settings).
    """

    def __init__(
        self,
        settings: Settings,
        metrics: ServingMetrics,
        *,
        source_factory: Callable[[], AliasSource] | None = None,
        devices: list[str] | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.name = settings.registry.model_name
        self.alias = settings.serving.alias
        self.devices = devices or worker_devices(settings.serving.device, settings.serving.workers)
        self.cache = ArtifactCache(Path(settings.serving.cache_dir) / self.name, settings)
        self._factory = source_factory or (lambda: RegistryClient.from_settings(settings))
        self._owns_source = source_factory is None
        self._source: AliasSource | None = None
        self._current: LoadedModel | None = None
        self._target: AliasTarget | None = None
        self._alias_unset = False
        self._failures: dict[tuple[int, str], _Failure] = {}
        self._status = "not polled yet"
        self._history: deque[tuple[datetime, int]] = deque(maxlen=HISTORY)
        self._swap_lock = threading.Lock()
        self._poll_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- reading -----------------------------------------------------------------------------------

    def current(self) -> LoadedModel | None:
        """The model serving now (None until the first version is loaded and warmed up)."""
        with self._swap_lock:
            return self._current

    def acquire(self) -> tuple[LoadedModel, datetime] | None:
        """The model serving now and the time it was taken, read under the swap lock.

        A job started with this pair ran on the version that was live at that time
        (:attr:`history` records each swap's time under the same lock).
        """
        with self._swap_lock:
            return None if self._current is None else (self._current, datetime.now(UTC))

    def require(self) -> LoadedModel:
        """:meth:`current`, or raise NoModelLoadedError saying why there is none."""
        model = self.current()
        if model is None:
            raise NoModelLoadedError(f"no model loaded yet: {self._status}")
        return model

    @property
    def status(self) -> str:
        """A one-line description of the last poll (for ``/readyz`` and logs)."""
        return self._status

    @property
    def history(self) -> list[tuple[datetime, int]]:
        """``(swapped_at, version)`` of each swap, oldest first."""
        with self._swap_lock:
            return list(self._history)

    def readiness(self) -> Readiness:
        """Ready iff a warmed-up model serves and the alias neither is unset nor points at a refused version."""
        with self._swap_lock:
            current, target = self._current, self._target
        serving = current.info.version if current else None
        wanted = target.version if target else None
        if current is None:
            return Readiness(False, self._status, None, wanted)
        if self._alias_unset:
            return Readiness(False, f"alias {self.alias!r} is not set; serving version {serving} is stale",
                             serving, None)
        if target is not None and target.version != serving:
            failure = self._failures.get((target.version, target.sha256))
            if failure is not None:
                wait = max(0.0, failure.retry_at - time.monotonic())
                return Readiness(False, f"{self.alias} is version {target.version} but it failed to load "
                                        f"({failure.reason}); serving stale version {serving}; "
                                        f"retry {failure.count + 1} in {wait:.0f} s", serving, wanted)
            return Readiness(True, f"serving version {serving}; loading version {target.version}", serving, wanted)
        return Readiness(True, self._status, serving, wanted)

    # -- polling -----------------------------------------------------------------------------------

    def refresh_now(self) -> PollResult:
        """Poll once in the calling thread (serialised with the background thread)."""
        with self._poll_lock:
            result = self._poll()
        self._status = result.reason or result.outcome
        ready = self.readiness()
        self.metrics.ready.set(1 if ready.ready else 0)
        return result

    def _resolve(self) -> AliasTarget | PollResult:
        try:
            if self._source is None:
                self._source = self._factory()
            target = self._source.resolve(self.name, self.alias)
        except AliasNotSetError as e:
            self._alias_unset = True
            return PollResult("no_alias", reason=str(e))
        except RegistryUnavailableError as e:
            self._source = None
            self.metrics.model_load_failures.labels(e.reason).inc()
            _log().warning("registry poll failed", reason=e.reason, error=str(e))
            return PollResult("error", reason=f"registry unavailable ({e.reason}): {e}")
        self._alias_unset = False
        with self._swap_lock:
            self._target = target
        return target

    def _poll(self) -> PollResult:
        resolved = self._resolve()
        if isinstance(resolved, PollResult):
            return resolved
        target, current = resolved, self.current()
        if current is not None and (current.info.version, current.info.sha256) == (target.version, target.sha256):
            return PollResult("unchanged", target.version, f"serving version {target.version}")
        key = (target.version, target.sha256)
        failure = self._failures.get(key)
        if failure is not None and time.monotonic() < failure.retry_at:
            return PollResult("backoff", target.version, f"version {target.version} refused ({failure.reason}); "
                              f"retry {failure.count + 1} in {failure.retry_at - time.monotonic():.0f} s")
        try:
            path = self.cache.fetch(target)
            model = warm_up_if(load_model(target, path, self.devices, datetime.now(UTC)), self.settings.serving.warmup)
        except ArtifactRejectedError as e:
            return self._refused(target, e)
        self._failures.pop(key, None)
        self._swap(model, previous=current)
        return PollResult("loaded", target.version, f"serving version {target.version}")

    def _refused(self, target: AliasTarget, e: ArtifactRejectedError) -> PollResult:
        key = (target.version, target.sha256)
        count = self._failures[key].count + 1 if key in self._failures else 1
        s = self.settings.serving
        delay = min(s.load_retry_base_s * 2 ** (count - 1), s.load_retry_max_s)
        self._failures[key] = _Failure(count, time.monotonic() + delay, f"{e.reason}: {e}")
        self.metrics.model_load_failures.labels(e.reason).inc()
        _log().error("model version refused", version=target.version, reason=e.reason, error=str(e),
                     attempt=count, retry_in_s=delay)
        return PollResult("rejected", target.version, f"version {target.version} refused ({e.reason}): {e}")

    def _swap(self, model: LoadedModel, previous: LoadedModel | None) -> None:
        with self._swap_lock:
            self._current = model
            self._history.append((datetime.now(UTC), model.info.version))
        m = model.info
        self.metrics.model_loads.inc()
        self.metrics.model_load_seconds.observe(m.load_s + m.warmup_s)
        self.metrics.set_model(m.name, m.version, m.sha256)
        _log().info("model swapped in", name=m.name, version=m.version, load_s=round(m.load_s, 3),
                    warmup_s=round(m.warmup_s, 3), previous=previous.info.version if previous else None)
        self.cache.keep_only({m.version} | ({previous.info.version} if previous else set()))

    # -- background thread -------------------------------------------------------------------------

    def trigger(self) -> None:
        """Wake the background thread for an immediate poll (the webhook calls this)."""
        self._wake.set()

    def start(self) -> None:
        """Start the polling thread (polls at once, then every ``poll_interval_s``)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="vidforge-model-watcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the polling thread (a load in progress finishes first, up to ``timeout`` s)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._owns_source and isinstance(self._source, RegistryClient):
            self._source.close()

    def _loop(self) -> None:
        interval = float(self.settings.serving.poll_interval_s)
        while not self._stop.is_set():
            try:
                result = self.refresh_now()
            except Exception as e:  # never let the watcher die
                self._status = f"error: {e}"
                _log().exception("model watcher poll crashed")
                result = PollResult("error")
            wait = interval
            if result.outcome == "backoff":  # wake when the retry is due, if that is sooner
                failure = self._failures.get((self._target.version, self._target.sha256)) if self._target else None
                if failure is not None:
                    wait = min(interval, max(0.05, failure.retry_at - time.monotonic()))
            self._wake.wait(wait)
            self._wake.clear()


def warm_up_if(model: LoadedModel, enabled: bool) -> LoadedModel:
    """``warm_up(model)`` when ``enabled``, else ``model`` unchanged."""
    return warm_up(model) if enabled else model
