"""Resolve a registry alias over the registry's HTTP API (never its database).

``GET {registry.url}/api/models/{name}/aliases/{alias}`` with ``Authorization:
Bearer {registry.token}`` (a viewer token) answers ``{name, alias, version,
artifact_uri, sha256}``. The answer is validated before anyone acts on it; the
artifact URI is checked against the allow-list again where it is fetched
(:mod:`services.serving.artifacts`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

import httpx

if TYPE_CHECKING:
    from vidforge.settings import Settings

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class AliasTarget:
    """The version an alias points at, with what is needed to fetch and verify it."""

    name: str
    alias: str
    version: int
    artifact_uri: str
    sha256: str


class AliasNotSetError(Exception):
    """The alias (or the model) does not exist in the registry."""


class RegistryUnavailableError(Exception):
    """The registry could not be asked, refused us, or answered nonsense; ``reason`` is a short code.

    ``registry`` (unreachable, timeout, 5xx), ``registry_auth`` (401/403: the
    configured token is missing, unknown or lacks the viewer role) or
    ``registry_response`` (an answer that is not an alias target).
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class AliasSource(Protocol):
    """Where the watcher learns which version an alias points at."""

    def resolve(self, name: str, alias: str) -> AliasTarget:
        """The alias's target. Raises AliasNotSetError or RegistryUnavailableError."""
        ...


def parse_target(data: Any, name: str, alias: str) -> AliasTarget:
    """An :class:`AliasTarget` from a decoded answer. Raises RegistryUnavailableError(``registry_response``)."""
    try:
        version, uri, sha = data["version"], data["artifact_uri"], data["sha256"]
    except (TypeError, KeyError) as e:
        raise RegistryUnavailableError("registry_response", f"the registry's alias answer lacks {e}") from None
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise RegistryUnavailableError("registry_response", f"the registry answered version={version!r}")
    if not isinstance(uri, str) or not uri or not isinstance(sha, str) or not _SHA256.match(sha):
        raise RegistryUnavailableError("registry_response", "the registry answered a bad artifact_uri or sha256")
    return AliasTarget(name, alias, version, uri, sha)


class RegistryClient:
    """A small synchronous client of the registry API (thread-safe: httpx clients are).

    Args:
        base_url: the registry's address (``settings.registry.url``).
        token: a registry token with at least the viewer role (``settings.registry.token``).
        timeout_s: per request.
        client: an ``httpx.Client`` to use instead (tests pass one bound to an in-process app).
    """

    def __init__(
        self, base_url: str, token: str, timeout_s: float = 10.0, client: httpx.Client | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = client or httpx.Client(timeout=timeout_s, follow_redirects=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> RegistryClient:
        """A client for ``settings.registry.url`` acting as ``settings.registry.token``."""
        reg = settings.registry
        return cls(reg.url, reg.token.get_secret_value(), settings.serving.registry_timeout_s)

    def resolve(self, name: str, alias: str) -> AliasTarget:
        """The version ``alias`` of model ``name`` points at (see :class:`AliasSource`)."""
        url = f"{self.base_url}/api/models/{quote(name, safe='')}/aliases/{quote(alias, safe='')}"
        try:
            response = self._client.get(url, headers=self._headers)
        except httpx.HTTPError as e:
            raise RegistryUnavailableError("registry", f"registry at {self.base_url} unreachable: {e}") from e
        if response.status_code == 404:
            raise AliasNotSetError(f"alias {alias!r} of {name!r} is not set in the registry")
        if response.status_code in (401, 403):
            raise RegistryUnavailableError(
                "registry_auth", f"the registry refused our token ({response.status_code}): set registry.token "
                "to a registry token with the viewer role",
            )
        if response.status_code != 200:
            raise RegistryUnavailableError("registry", f"the registry answered HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            raise RegistryUnavailableError("registry_response", "the registry's answer is not JSON") from None
        return parse_target(data, name, alias)

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()
