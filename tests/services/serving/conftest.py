"""Fixtures for the generation service: tiny real models in a LocalStore, a real registry read over HTTP.

The tiny pipeline is built once per session (``build_pipeline`` + ``save_pipeline``);
version 2 is the same architecture with perturbed UNet weights, so the two
versions generate different videos from the same seed. Each version's
``vidforge.json`` carries its own ``motion_bucket_edges`` (as training writes
them), so the two map the same motion score to different buckets.

Tests set registry state through the store (:class:`GovernedRegistry`); the
service under test reads it only through the registry's HTTP API — the real
registry app behind a ``TestClient`` (``registry_api``), or uvicorn on a
loopback port for child processes (``live_registry``). Serving tokens
``alice``/``bob`` (submit + read), ``reader`` (read) and ``root`` (admin) exist
in each test's job database (``tokens``).
"""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from PIL import Image

from tests.services.serving.dbs import jobs_db_url, pg_jobs_url  # noqa: F401 - fixtures
from tests.services.serving.helpers import free_port, http_ok, wait_until
from tests.services.serving.registries import (  # noqa: F401 - fixtures and the classes tests import from here
    MODEL,
    GovernedRegistry,
    RegistryApi,
    live_registry_fixture,
    registry_api_fixture,
    registry_fixture,
    serve_registry,
)
from vidforge.digest import sha256_tree
from vidforge.settings import ServingSettings, Settings, get_settings
from vidforge.store import LocalStore

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from services.serving.loader import LoadedModel

ROOT = Path(__file__).resolve().parents[3]
#: Request defaults written into every test artefact's vidforge.json.
DEFAULTS = {"height": 64, "width": 64, "num_frames": 4, "fps": 6, "num_inference_steps": 2}
#: Motion-score quantile edges (px/s) of versions 1 and 2: a score of 3.0 lands mid-range in v1, below all of v2.
EDGES_V1 = (0.5, 1.0, 2.0, 4.0, 8.0)
EDGES_V2 = (5.0, 10.0, 20.0, 40.0, 80.0)


@dataclass(frozen=True)
class Artifact:
    """A saved tiny pipeline directory in the test store (``edges``: its ``motion_bucket_edges``)."""

    uri: str
    sha256: str
    path: Path
    edges: tuple[float, ...]


@dataclass(frozen=True)
class Artifacts:
    """Two different tiny model versions."""

    store: LocalStore
    v1: Artifact
    v2: Artifact


def _save(store: LocalStore, pipe: object, key: str, edges: tuple[float, ...]) -> Artifact:
    from training.model import save_pipeline

    path = store.local_path(key)
    save_pipeline(pipe, path)  # type: ignore[arg-type]
    meta = {**DEFAULTS, "motion_bucket_edges": list(edges), "stage": "test", "run_id": key}
    (path / "vidforge.json").write_text(json.dumps(meta))
    return Artifact(uri=store.uri(key), sha256=sha256_tree(path), path=path, edges=edges)


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """Run each test's tiny models on one intra-op thread, then restore the count.

    A tiny model gains nothing from more, and OpenMP workers spinning on a
    shared CI box slow these tests down by more than an order of magnitude.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Artifacts:
    """Versions 1 and 2 of a tiny random-init SVD pipeline, saved in a LocalStore."""
    import torch

    from training.model import build_pipeline, load_model_config

    store = LocalStore(tmp_path_factory.mktemp("serving-store"))
    pipe = build_pipeline(load_model_config("tiny"), seed=0)
    v1 = _save(store, pipe, "models/tiny/v1", EDGES_V1)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in pipe.unet.parameters():
            p.add_(0.2 * torch.randn(p.shape, generator=gen))
    v2 = _save(store, pipe, "models/tiny/v2", EDGES_V2)
    assert v1.sha256 != v2.sha256
    return Artifacts(store=store, v1=v1, v2=v2)


@pytest.fixture
def settings(tmp_path: Path, registry: GovernedRegistry, artifacts: Artifacts) -> Settings:
    """Settings with a temp home (job database, result store), fast polling, small limits.

    ``registry.url``/``token`` are placeholders: in-process apps get the registry through
    ``make_client``'s source; child processes get ``live_registry``'s address.
    """
    return get_settings(
        overrides={
            "home": str(tmp_path / "home"),
            "registry": {"db_url": "sqlite:///" + str(tmp_path / "not-for-serving.db"), "model_name": MODEL,
                         "allowed_uri_prefixes": [artifacts.store.root_uri], "url": "http://testserver"},
            "serving": {
                "poll_interval_s": 0.2,
                "cache_dir": str(tmp_path / "cache"),
                "max_frames": 8,
                "max_steps": 50,
                "min_image_side": 16,
                "heartbeat_s": 0.5,
                "claim_poll_s": 0.1,
                "load_retry_base_s": 0.2,
                "load_retry_max_s": 1.0,
            },
        }
    )


TOKENS = {"alice": "jobs:submit,jobs:read", "bob": "jobs:submit,jobs:read", "reader": "jobs:read", "root": "admin"}


@pytest.fixture
def tokens(settings: Settings) -> dict[str, str]:
    """Serving tokens by name (see :data:`TOKENS`), created in the test's job database."""
    from services.serving.store import JobStore

    store = JobStore.from_settings(settings)
    try:
        return {name: store.create_token(name, scopes, "test")[1] for name, scopes in TOKENS.items()}
    finally:
        store.dispose()


def auth(token: str) -> dict[str, str]:
    """The Authorization header of ``token``."""
    return {"Authorization": f"Bearer {token}"}


def _png_bytes(seed: int = 0, size: tuple[int, int] = (64, 64), fmt: str = "PNG") -> bytes:
    rng = np.random.default_rng(seed)
    img = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def _decode_mp4(data: bytes) -> np.ndarray:
    import av

    with av.open(io.BytesIO(data)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


@pytest.fixture
def png() -> Callable[..., bytes]:
    """``png(seed=0, size=(w, h), fmt="PNG")``: encoded random RGB image bytes."""
    return _png_bytes


@pytest.fixture
def wait_for() -> Callable[..., None]:
    """``wait_for(predicate, timeout=20, what=...)``: poll every 50 ms, fail on timeout."""
    return wait_until


@pytest.fixture
def decode_mp4() -> Callable[[bytes], np.ndarray]:
    """``decode_mp4(data)``: ``(T, H, W, 3)`` uint8 RGB frames decoded with PyAV."""
    return _decode_mp4


@pytest.fixture(scope="session")
def tiny_model(artifacts: Artifacts) -> LoadedModel:
    """Version 1 loaded straight from its directory (for worker and generation unit tests)."""
    from datetime import UTC, datetime

    from services.serving.loader import load_model
    from services.serving.registry_client import AliasTarget

    target = AliasTarget(MODEL, "production", 1, artifacts.v1.uri, artifacts.v1.sha256)
    return load_model(target, artifacts.v1.path, ["cpu"], datetime.now(UTC))


@pytest.fixture
def make_client(
    settings: Settings, registry_api: RegistryApi, tokens: dict[str, str]
) -> Iterator[Callable[..., TestClient]]:
    """``make_client(serving=None, *, load=True, worker=True, start_background=False, token="alice", **app_kw)``.

    Builds an app on the test settings (its watcher reads the registry over HTTP) and
    enters its TestClient (lifespan on), sending ``token`` on every request (None: no
    token). ``serving`` sets ``settings.serving`` fields first (validated, e.g.
    ``{"max_queue": 1}``). By default the watcher is polled once by hand (``load``) and
    the workers started (``worker``), so tests are deterministic without the poll thread.
    ``app_kw`` go to ``create_app`` (``runner``, ``devices``).
    """
    from fastapi.testclient import TestClient

    from services.serving.app import create_app

    clients: list[TestClient] = []

    def make(
        serving: dict[str, Any] | None = None, *, load: bool = True, worker: bool = True,
        start_background: bool = False, token: str | None = "alice", **app_kw: Any,
    ) -> TestClient:
        if serving:
            checked = ServingSettings.model_validate({**settings.serving.model_dump(), **serving})
            for name in serving:
                setattr(settings.serving, name, getattr(checked, name))
        app = create_app(settings, start_background=start_background, source_factory=registry_api.source, **app_kw)
        client = TestClient(app, headers=auth(tokens[token]) if token else None)
        client.__enter__()
        clients.append(client)
        if load:
            assert app.state.serving.watcher.refresh_now().outcome == "loaded"
        if worker:
            app.state.serving.workers.start()
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@contextmanager
def _spawn_server(
    entry: str, settings: Settings, registry: tuple[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    module, func = entry.split(":")
    port = free_port()
    reg = settings.registry.model_dump(mode="json")  # mode="json" drops the token: set it back
    if registry is not None:
        reg["url"], reg["token"] = registry
    overrides: dict[str, Any] = {
        "home": str(settings.home), "log_json": True, "registry": reg,
        "serving": {
            **settings.serving.model_dump(mode="json"), "port": port, "host": "127.0.0.1",
            "webhook_secret": settings.serving.webhook_secret.get_secret_value(),  # mode="json" masks it
            "torch_threads": settings.serving.torch_threads or 1,
        },
    }
    code = (
        "import json, sys\n"
        "from vidforge.settings import get_settings\n"
        f"from {module} import {func}\n"
        f"{func}(get_settings(overrides=json.loads(sys.argv[1])))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, json.dumps(overrides)], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def spawn_server() -> Callable[..., Any]:
    """``with spawn_server("module:function", settings, (registry_url, token)) as (proc, base_url)``.

    Runs ``function(settings)`` in a child Python on a free 127.0.0.1 port with
    JSON logs (stdout+stderr piped to ``proc.stdout``); SIGINTs it on exit.
    """
    return _spawn_server


@pytest.fixture
def ok() -> Callable[[str], bool]:
    """``ok(url)``: GET answers 200 (False while nothing listens yet)."""
    return http_ok
