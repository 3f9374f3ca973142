"""RegistryClient against the real registry app over HTTP: resolves, says why when it cannot."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.serving.registry_client import (
    AliasNotSetError,
    AliasTarget,
    RegistryClient,
    RegistryUnavailableError,
    parse_target,
)
from tests.services.serving.conftest import MODEL, Artifacts, GovernedRegistry, RegistryApi


def test_resolves_the_alias(registry_api: RegistryApi, artifacts: Artifacts) -> None:
    target = registry_api.source().resolve(MODEL, "production")
    assert target == AliasTarget(MODEL, "production", 1, artifacts.v1.uri, artifacts.v1.sha256)


def test_follows_a_moved_alias(registry_api: RegistryApi, registry: GovernedRegistry, artifacts: Artifacts) -> None:
    registry.create_version(MODEL, artifact_uri=artifacts.v2.uri, sha256=artifacts.v2.sha256)
    registry.set_alias(MODEL, "production", 2)
    assert registry_api.source().resolve(MODEL, "production").version == 2


def test_unset_alias_and_unknown_model(registry_api: RegistryApi) -> None:
    for name, alias in ((MODEL, "staging"), ("no-such-model", "production")):
        with pytest.raises(AliasNotSetError, match=f"alias '{alias}' of '{name}' is not set"):
            registry_api.source().resolve(name, alias)


def test_bad_or_missing_token_is_registry_auth(registry_api: RegistryApi) -> None:
    for token in ("", "vf_not-a-token"):
        client = RegistryClient("http://testserver", token, client=registry_api.client)
        with pytest.raises(RegistryUnavailableError, match="viewer role") as info:
            client.resolve(MODEL, "production")
        assert info.value.reason == "registry_auth"


def test_unreachable_registry() -> None:
    client = RegistryClient("http://127.0.0.1:9", "t", timeout_s=1.0)
    with pytest.raises(RegistryUnavailableError, match="unreachable") as info:
        client.resolve(MODEL, "production")
    assert info.value.reason == "registry"
    client.close()


def _answer(status: int, body: Any) -> RegistryClient:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer t"
        assert request.url.raw_path == b"/api/models/a%2Fb/aliases/production"
        if isinstance(body, bytes):
            return httpx.Response(status, content=body)
        return httpx.Response(status, json=body)

    return RegistryClient("http://reg", "t", client=httpx.Client(transport=httpx.MockTransport(handler)))


@pytest.mark.parametrize(
    ("status", "body", "reason", "match"),
    [(500, {"error": "x"}, "registry", "HTTP 500"), (200, b"<html>", "registry_response", "not JSON"),
     (200, {"version": 1}, "registry_response", "lacks 'artifact_uri'"),
     (200, {"version": "1", "artifact_uri": "s3://b/k", "sha256": "ab" * 32}, "registry_response", "version='1'"),
     (200, {"version": 1, "artifact_uri": "s3://b/k", "sha256": "xyz"}, "registry_response", "bad artifact_uri")],
)
def test_bad_answers_are_refused(status: int, body: Any, reason: str, match: str) -> None:
    with pytest.raises(RegistryUnavailableError, match=match) as info:
        _answer(status, body).resolve("a/b", "production")  # names are path-quoted
    assert info.value.reason == reason


def test_parse_target_accepts_a_registry_answer() -> None:
    data = {"name": "m", "alias": "p", "version": 4, "artifact_uri": "s3://b/k", "sha256": "cd" * 32}
    assert parse_target(data, "m", "p") == AliasTarget("m", "p", 4, "s3://b/k", "cd" * 32)
