"""The registry as serving tests meet it: governed state set through the store, read over HTTP.

:class:`GovernedRegistry` registers, approves and promotes versions the way the
pipeline and a reviewer do; ``registry_api`` serves the real registry app behind a
TestClient, ``live_registry`` in uvicorn on a loopback port (for child processes).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from services.registry.entities import ModelVersion
from services.registry.store import RegistryPolicy, RegistryStore
from tests.services.serving.helpers import free_port, http_ok, wait_until
from vidforge.identity import Principal, Role
from vidforge.settings import Settings, get_settings

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from services.serving.registry_client import RegistryClient
    from tests.services.serving.conftest import Artifacts

MODEL = "vidforge-i2v"


class GovernedRegistry:
    """The registry as the pipeline and two people use it: register (gate passed), approve, promote.

    ``create_version`` registers as ``pipeline``; ``set_alias`` has ``alice`` approve the version
    and ``pipeline`` move the alias from wherever it points (compare-and-set), as promotion does.
    """

    def __init__(self, store: RegistryStore) -> None:
        self.store = store
        self.db_url = store.db_url
        self.pipeline = Principal("pipeline", Role.APPROVER)
        self.alice = Principal("alice", Role.APPROVER)
        self.admin_token = store.create_token("admin", "admin", None)[1]

    def create_version(self, name: str, **kwargs: Any) -> ModelVersion:
        return self.store.create_version(name, self.pipeline, gate_passed=True, **kwargs)

    def set_alias(self, name: str, alias: str, version: int) -> ModelVersion:
        if not any(a.approver == "alice" for a in self.store.list_approvals(name, version)):
            self.store.add_approval(name, version, self.alice, "approved", "ok")
        current = self.store.get_model(name).aliases.get(alias)
        return self.store.set_alias(name, alias, version, self.pipeline, expected_version=current)

    def dispose(self) -> None:
        self.store.dispose()


@pytest.fixture(name="registry")
def registry_fixture(tmp_path: Path, artifacts: Artifacts) -> Iterator[GovernedRegistry]:
    """A migrated SQLite registry with version 1 registered and aliased ``production``."""
    policy = RegistryPolicy(allowed_uri_prefixes=(artifacts.store.root_uri,))
    store = GovernedRegistry(RegistryStore.open(f"sqlite:///{tmp_path / 'reg.db'}", policy))
    store.create_version(MODEL, artifact_uri=artifacts.v1.uri, sha256=artifacts.v1.sha256, run_id="r1")
    store.set_alias(MODEL, "production", 1)
    yield store
    store.dispose()


@dataclass(frozen=True)
class RegistryApi:
    """The registry's HTTP API in process: ``client`` (a TestClient, lifespan entered) and a viewer token."""

    client: TestClient
    token: str

    def source(self) -> RegistryClient:
        """What the service's watcher uses: a RegistryClient over ``client``."""
        from services.serving.registry_client import RegistryClient

        return RegistryClient("http://testserver", self.token, client=self.client)


def _registry_settings(registry: GovernedRegistry, home: Path, allowed: str) -> Settings:
    return get_settings(overrides={"home": str(home), "registry": {
        "db_url": registry.db_url, "model_name": MODEL, "allowed_uri_prefixes": [allowed]}})


def _viewer_token(registry: GovernedRegistry) -> str:
    admin = registry.store.resolve_token(registry.admin_token)
    assert admin is not None
    _, token = registry.store.create_token(f"serving-{uuid.uuid4().hex[:8]}", "viewer", admin)
    return token


@pytest.fixture(name="registry_api")
def registry_api_fixture(tmp_path: Path, registry: GovernedRegistry, artifacts: Artifacts) -> Iterator[RegistryApi]:
    """The registry app (webhook dispatch off) behind a TestClient, with a viewer token for serving."""
    from fastapi.testclient import TestClient

    from services.registry.api import create_app as registry_app

    cfg = _registry_settings(registry, tmp_path / "registry-home", artifacts.store.root_uri)
    with TestClient(registry_app(cfg, dispatch_webhooks=False)) as client:
        yield RegistryApi(client, _viewer_token(registry))


@contextmanager
def serve_registry(registry: GovernedRegistry, home: Path, allowed: str) -> Iterator[tuple[str, str]]:
    """The registry app in uvicorn on a loopback port: yields ``(base_url, viewer_token)``."""
    import uvicorn

    from services.registry.api import create_app as registry_app

    port = free_port()
    config = uvicorn.Config(registry_app(_registry_settings(registry, home, allowed), dispatch_webhooks=False),
                            host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: http_ok(f"{base}/healthz"), what="the registry to listen")
    try:
        yield base, _viewer_token(registry)
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(name="live_registry")
def live_registry_fixture(
    tmp_path: Path, registry: GovernedRegistry, artifacts: Artifacts
) -> Iterator[tuple[str, str]]:
    """``(base_url, viewer_token)`` of the registry in uvicorn (for services in child processes)."""
    with serve_registry(registry, tmp_path / "live-registry-home", artifacts.store.root_uri) as found:
        yield found
