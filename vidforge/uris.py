"""The allow-list for every URI a service stores and later fetches (artifacts, reports, datasets, webhooks).

One rule, applied where a URI is accepted (the registry) and again where it is
fetched (evaluation, serving), so a row written before a setting changed, or
edited in the database, is not trusted blindly:

- storage URIs use a storage scheme (``file``, ``s3``), are absolute, have no
  ``.``/``..`` segments (also percent-encoded), no control characters, and lie
  under one of the allowed prefixes (default: the configured object store);
- webhook URLs are ``http``/``https`` to a host on an explicit list, never a
  link-local or cloud-metadata address, and carry no credentials.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from vidforge.settings import Settings

MAX_URI_LENGTH = 2048
STORAGE_SCHEMES = ("file", "s3")
METADATA_HOSTS = frozenset({"metadata", "metadata.google.internal", "169.254.169.254", "fd00:ec2::254"})


class UriNotAllowed(ValueError):  # noqa: N818 - reads as a verdict
    """A URI breaks the allow-list rule; the message says which part."""


def allowed_prefixes(settings: Settings) -> list[str]:
    """The storage prefixes a service accepts: ``registry.allowed_uri_prefixes``, else the object store's root."""
    configured = [p for p in settings.registry.allowed_uri_prefixes if p]
    return configured or [settings.store.uri]


def _basic(uri: object, what: str) -> str:
    if not isinstance(uri, str) or not uri.strip():
        raise UriNotAllowed(f"{what} must be a non-empty string")
    if len(uri) > MAX_URI_LENGTH:
        raise UriNotAllowed(f"{what} is longer than {MAX_URI_LENGTH} characters")
    if any(ord(c) < 32 or ord(c) == 127 or c.isspace() for c in uri):
        raise UriNotAllowed(f"{what} contains whitespace or control characters")
    return uri


def _host_is_forbidden(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in METADATA_HOSTS:
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_link_local or ip.is_multicast or ip.is_unspecified


def check_storage_uri(uri: str, prefixes: Sequence[str], what: str = "uri") -> str:
    """``uri`` when it is a storage URI under one of ``prefixes``; raises :class:`UriNotAllowed` otherwise."""
    uri = _basic(uri, what)
    parts = urlsplit(uri)
    if parts.scheme not in STORAGE_SCHEMES:
        shown = f"scheme {parts.scheme!r}" if parts.scheme else "a relative path"
        raise UriNotAllowed(f"{what} {uri!r} uses {shown}; allowed schemes: {', '.join(STORAGE_SCHEMES)}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise UriNotAllowed(f"{what} {uri!r} may not carry a query, fragment or credentials")
    if parts.scheme == "file" and parts.netloc not in ("", "localhost"):
        raise UriNotAllowed(f"{what} {uri!r} names a remote host in a file URI")
    if _host_is_forbidden(parts.netloc):
        raise UriNotAllowed(f"{what} {uri!r} names a link-local or metadata host")
    segments = unquote(parts.path).split("/")
    if any(seg in (".", "..") for seg in segments) or "\\" in unquote(parts.path):
        raise UriNotAllowed(f"{what} {uri!r} contains '.' or '..' path segments")
    for prefix in prefixes:
        root = prefix.rstrip("/")
        if root and (uri == root or uri.startswith(root + "/")):
            return uri
    raise UriNotAllowed(f"{what} {uri!r} is outside the allowed locations: {', '.join(prefixes)}")


def check_webhook_url(url: str, hosts: Sequence[str], what: str = "url") -> str:
    """``url`` when it is an http(s) URL to one of ``hosts``; raises :class:`UriNotAllowed` otherwise."""
    url = _basic(url, what)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UriNotAllowed(f"{what} {url!r} must use http or https")
    if parts.username or parts.password:
        raise UriNotAllowed(f"{what} {url!r} may not carry credentials")
    host = (parts.hostname or "").lower()
    if not host or _host_is_forbidden(host):
        raise UriNotAllowed(f"{what} {url!r} names no host, or a link-local or metadata host")
    if host not in {h.lower() for h in hosts}:
        allowed = ", ".join(hosts) or "none (set registry.webhook_allowed_hosts)"
        raise UriNotAllowed(f"{what} {url!r}: host {host!r} is not allowed; allowed hosts: {allowed}")
    return url
