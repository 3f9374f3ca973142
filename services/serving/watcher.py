"""Model watcher: follow a registry alias and hot-swap the serving pipeline.

A background thread polls ``registry.get_version_by_alias(model_name, alias)``
every ``poll_interval_s`` (or at once after :meth:`ModelWatcher.trigger`). A new
version is downloaded into ``cache_dir/<name>/<version>/`` (temp dir + rename),
verified against the registry's ``sha256`` (:func:`vidforge.digest.sha256_tree`),
loaded with :func:`training.model.load_pipeline` in the watcher thread — never
on a request — and swapped in under a lock. Until then the previous model keeps
serving; a version that fails verification or loading is refused (remembered,
logged, counted) and the old model stays.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from services.registry.errors import NotFound
from services.serving.errors import NoModelLoadedError
from services.serving.params import ModelDefaults
from vidforge.digest import sha256_tree
from vidforge.logging import get_logger
from vidforge.store import open_uri
from vidforge.uris import UriNotAllowed, allowed_prefixes, check_storage_uri

if TYPE_CHECKING:
    from structlog.typing import FilteringBoundLogger

    from services.registry.entities import ModelVersion
    from services.serving.metrics import ServingMetrics
    from vidforge.settings import Settings



def _log() -> FilteringBoundLogger:
    """This module's logger, built at call time so it follows ``configure_logging``."""
    return get_logger(__name__)

#: Name of the optional defaults file inside a model artefact directory.
DEFAULTS_FILE = "vidforge.json"


class AliasSource(Protocol):
    """The part of the registry store the watcher needs."""

    def get_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version ``alias`` points at; raises the registry's ``NotFound`` if unset."""
        ...


@dataclass(frozen=True)
class ModelInfo:
    """Which registry version is loaded, and from where."""

    name: str
    version: int
    sha256: str
    artifact_uri: str
    run_id: str
    dataset_version: str
    path: str
    loaded_at: datetime


class LoadedModel(NamedTuple):
    """A swapped-in model: ``(info, pipeline, defaults)``; immutable, safe to hold across a swap."""

    info: ModelInfo
    pipeline: Any
    defaults: ModelDefaults


@dataclass(frozen=True)
class PollResult:
    """Outcome of one poll: ``loaded``, ``unchanged``, ``rejected``, ``no_alias`` or ``error``."""

    outcome: str
    version: int | None = None
    reason: str = ""


class ArtifactRejectedError(Exception):
    """A version's artefact failed download, verification or loading; ``reason`` is a short code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _open_registry(settings: Settings) -> AliasSource:
    """Open the registry read-side: serving never migrates it, and refuses a DB not at head."""
    from services.registry.store import RegistryStore

    return RegistryStore.from_settings(settings, upgrade=False)


class ModelWatcher:
    """Polls the registry alias and keeps the current :class:`LoadedModel`.

    Args:
        settings: platform settings (``registry.model_name``, ``serving.*``, ``store``).
        metrics: where loads, failures and the current version are recorded.
        registry_factory: opens the registry (default: ``RegistryStore.from_settings(settings)``);
            called lazily and again after a failure, so the service starts without a DB.
    """

    def __init__(
        self,
        settings: Settings,
        metrics: ServingMetrics,
        *,
        registry_factory: Callable[[], AliasSource] | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.name = settings.registry.model_name
        self.alias = settings.serving.alias
        self.cache_root = Path(settings.serving.cache_dir) / self.name.replace("/", "_")
        self._factory = registry_factory or (lambda: _open_registry(settings))
        self._registry: AliasSource | None = None
        self._current: LoadedModel | None = None
        self._swap_lock = threading.Lock()
        self._poll_lock = threading.Lock()
        self._rejected: dict[tuple[int, str], str] = {}
        self._status = "not polled yet"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- reading ---------------------------------------------------------------------------------

    def current(self) -> LoadedModel | None:
        """The model serving now, or None before the first successful load."""
        with self._swap_lock:
            return self._current

    def require(self) -> LoadedModel:
        """The model serving now.

        Raises:
            NoModelLoadedError: nothing is loaded yet; the message says why.
        """
        model = self.current()
        if model is None:
            raise NoModelLoadedError(f"no model loaded yet: {self._status}")
        return model

    @property
    def status(self) -> str:
        """A one-line description of the last poll (for ``/readyz`` and logs)."""
        return self._status

    # -- polling ---------------------------------------------------------------------------------

    def refresh_now(self) -> PollResult:
        """Poll once in the calling thread (serialised with the background thread)."""
        with self._poll_lock:
            result = self._poll()
        self._status = result.reason or result.outcome
        return result

    def _poll(self) -> PollResult:
        try:
            if self._registry is None:
                self._registry = self._factory()
            target = self._registry.get_version_by_alias(self.name, self.alias)
        except NotFound:
            return PollResult("no_alias", reason=f"alias {self.alias!r} of {self.name!r} is not set")
        except Exception as e:  # the DB is away or not migrated: reopen on the next poll
            self._registry = None
            self.metrics.model_load_failures.labels("registry").inc()
            _log().warning("registry poll failed", error=str(e))
            return PollResult("error", reason=f"registry unavailable: {e}")
        current = self.current()
        if current is not None and current.info.version == target.version:
            return PollResult("unchanged", target.version, f"serving version {target.version}")
        key = (target.version, target.sha256)
        if key in self._rejected:
            return PollResult("rejected", target.version, self._rejected[key])
        try:
            model = self._fetch_and_load(target)
        except ArtifactRejectedError as e:
            self.metrics.model_load_failures.labels(e.reason).inc()
            _log().error("model version refused", version=target.version, reason=e.reason, error=str(e))
            reason = f"version {target.version} refused ({e.reason}): {e}"
            if e.reason != "download":  # a download error may be transient: retry next poll
                self._rejected[key] = reason
            return PollResult("rejected", target.version, reason)
        self._swap(model, previous=current)
        return PollResult("loaded", target.version, f"serving version {target.version}")

    def _fetch_and_load(self, target: ModelVersion) -> LoadedModel:
        started = time.perf_counter()
        path = self._download(target)
        try:
            from training.model import load_pipeline

            pipe = load_pipeline(path, device=self.settings.serving.device)
            pipe.set_progress_bar_config(disable=True)
            defaults = _read_defaults(path)
        except Exception as e:
            raise ArtifactRejectedError("load", f"cannot load {path}: {e}") from e
        self.metrics.load_seconds.observe(time.perf_counter() - started)
        info = ModelInfo(
            name=target.name, version=target.version, sha256=target.sha256,
            artifact_uri=target.artifact_uri, run_id=target.run_id,
            dataset_version=target.dataset_version, path=str(path), loaded_at=datetime.now(UTC),
        )
        return LoadedModel(info, pipe, defaults)

    def _download(self, target: ModelVersion) -> Path:
        """Materialise and verify ``target``'s directory under the cache; return its path."""
        dest = self.cache_root / str(target.version)
        if dest.is_dir() and sha256_tree(dest) == target.sha256:
            return dest
        self.cache_root.mkdir(parents=True, exist_ok=True)
        tmp = self.cache_root / f".tmp-{target.version}-{uuid.uuid4().hex[:8]}"
        try:
            try:
                check_storage_uri(target.artifact_uri, allowed_prefixes(self.settings), "artifact_uri")
            except UriNotAllowed as e:  # re-checked here: a row may predate a setting, or be edited
                raise ArtifactRejectedError("uri_not_allowed", str(e)) from e
            try:
                store, key = open_uri(target.artifact_uri, self.settings.store)
                store.get_dir(key, tmp)
            except Exception as e:
                raise ArtifactRejectedError("download", f"cannot download {target.artifact_uri}: {e}") from e
            digest = sha256_tree(tmp)
            if digest != target.sha256:
                raise ArtifactRejectedError(
                    "sha256_mismatch",
                    f"{target.artifact_uri} has sha256 {digest}, registry says {target.sha256}",
                )
            shutil.rmtree(dest, ignore_errors=True)
            tmp.rename(dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return dest

    def _swap(self, model: LoadedModel, previous: LoadedModel | None) -> None:
        with self._swap_lock:
            self._current = model
        m = model.info
        self.metrics.model_loads.inc()
        self.metrics.model_version.set(m.version)
        self.metrics.model_info.info(
            {"name": m.name, "version": str(m.version), "sha256": m.sha256, "run_id": m.run_id}
        )
        _log().info("model swapped in", name=m.name, version=m.version,
                 previous=previous.info.version if previous else None)
        keep = {str(m.version)} | ({str(previous.info.version)} if previous else set())
        for child in self.cache_root.iterdir():
            if child.is_dir() and not child.name.startswith(".") and child.name not in keep:
                shutil.rmtree(child, ignore_errors=True)

    # -- background thread -----------------------------------------------------------------------

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

    def _loop(self) -> None:
        interval = max(0.05, float(self.settings.serving.poll_interval_s))
        while not self._stop.is_set():
            try:
                self.refresh_now()
            except Exception as e:  # never let the watcher die
                self._status = f"error: {e}"
                _log().exception("model watcher poll crashed")
            self._wake.wait(interval)
            self._wake.clear()


def _read_defaults(path: Path) -> ModelDefaults:
    """Request defaults and ``motion_bucket_edges`` from ``<path>/vidforge.json``; class defaults when absent."""
    f = path / DEFAULTS_FILE
    if not f.is_file():
        return ModelDefaults()
    data = json.loads(f.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{f} must hold a JSON object")
    return ModelDefaults.from_json(data)
