"""Shared fixtures: external services (PostgreSQL, S3) and markers.

Outside CI a test that needs a server skips when none is reachable; under CI
(``CI=true``) it fails instead, because ``.ci/run`` must have started it.
Servers are found through ``VIDFORGE_TEST_PG_URL`` (a SQLAlchemy URL of a
database the tests may create/drop schemas in) and ``VIDFORGE_TEST_S3_ENDPOINT``
(a moto server, ``http://127.0.0.1:PORT``).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import pytest

if TYPE_CHECKING:
    from vidforge.store import ObjectStore

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def require_service(name: str, env: str) -> str:
    """The URL in ``env`` if its server answers; else skip (or fail under CI)."""
    url = os.environ.get(env, "")
    parsed = urlparse(url.replace("postgresql+psycopg", "postgresql"))
    if url and parsed.hostname and _reachable(parsed.hostname, parsed.port or 0):
        return url
    msg = f"{name} not reachable (set {env}; .ci/run starts one)"
    if IN_CI:
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture(scope="session")
def pg_url() -> str:
    """SQLAlchemy URL of the test PostgreSQL server."""
    return require_service("PostgreSQL", "VIDFORGE_TEST_PG_URL")


@pytest.fixture(scope="session")
def s3_endpoint() -> str:
    """Endpoint URL of the test S3 (moto) server."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return require_service("S3 (moto)", "VIDFORGE_TEST_S3_ENDPOINT")


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> Iterator[str]:
    """A fresh, empty bucket on the test S3 server; yields its name."""
    import boto3

    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    name = f"vf-test-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    yield name
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
        for obj in page.get("Contents", []):
            client.delete_object(Bucket=name, Key=obj["Key"])
    client.delete_bucket(Bucket=name)


@pytest.fixture(params=["local", "s3"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    """The same test on both object stores: a LocalStore in ``tmp_path`` and an S3Store under a key prefix
    of a fresh bucket on the test S3 server (skipped outside CI when no server is reachable)."""
    from vidforge.store import LocalStore, S3Store

    if request.param == "local":
        return LocalStore(tmp_path / "store")
    endpoint = request.getfixturevalue("s3_endpoint")
    return S3Store(f"s3://{request.getfixturevalue('s3_bucket')}/pre/fix", endpoint_url=endpoint)

