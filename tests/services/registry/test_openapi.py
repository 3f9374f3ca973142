"""Property-based bad input against the registry's OpenAPI schema (schemathesis): never a server error.

The registry runs in uvicorn on a loopback port with a fresh SQLite database and
an admin token (every route reachable); schemathesis generates requests from the
schema, valid and invalid, and each answer must be below 500. A few models and
versions exist so that generated paths also reach real rows.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from services.registry.api import create_app
from services.registry.db import upgrade
from services.registry.store import RegistryStore
from vidforge.settings import get_settings

SHA = "ab" * 32


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def live_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """``(base_url, admin_token)`` of a registry served by uvicorn in a thread."""
    home = tmp_path_factory.mktemp("schemathesis")
    url = f"sqlite:///{home}/registry.db"
    upgrade(url)
    cfg = get_settings(overrides={"home": str(home), "registry": {"db_url": url, "allowed_uri_prefixes": ["s3://b"]}})
    store = RegistryStore.from_settings(cfg)
    _, admin = store.create_token("admin", "admin", None)
    root = store.resolve_token(admin)
    assert root is not None
    for name in ("m", "a"):
        store.create_version(name, root, artifact_uri="s3://b/x", sha256=SHA, gate_passed=True, run_id=f"r-{name}")
    store.dispose()
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(cfg), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield base, admin
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def api_schema(live_registry: tuple[str, str]) -> Any:
    base, _ = live_registry
    return schemathesis.openapi.from_url(f"{base}/openapi.json")


def test_no_input_makes_a_server_error(api_schema: Any, live_registry: tuple[str, str]) -> None:
    base, admin = live_registry
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: Any) -> None:
            response = case.call(base_url=base, headers={"Authorization": f"Bearer {admin}"})
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}")
            case.validate_response(response, checks=[not_a_server_error])

        check()
    assert failures == []


def test_the_schema_covers_the_governed_routes(api_schema: Any) -> None:
    paths = set(api_schema.raw_schema["paths"])
    for path in ("/api/models/{name}/aliases/{alias}", "/api/models/{name}/aliases/{alias}/rollback",
                 "/api/tokens", "/api/audit/verify", "/api/models/{name}/webhooks"):
        assert path in paths
