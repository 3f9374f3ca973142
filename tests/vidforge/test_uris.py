"""vidforge.uris: the allow-list for URIs a service stores and later fetches."""

from __future__ import annotations

import pytest

from vidforge.settings import get_settings
from vidforge.uris import UriNotAllowed, allowed_prefixes, check_storage_uri, check_webhook_url

PREFIXES = ["s3://models/vf", "file:///srv/store"]


@pytest.mark.parametrize("uri", ["s3://models/vf/runs/r1/final", "s3://models/vf", "file:///srv/store/x/report.html"])
def test_storage_uris_under_a_prefix_pass(uri: str) -> None:
    assert check_storage_uri(uri, PREFIXES) == uri


@pytest.mark.parametrize(
    ("uri", "needle"),
    [
        ("runs/r1/final", "relative path"),
        ("/srv/store/x", "relative path"),
        ("s3://models/vf/../other/x", "'..'"),
        ("s3://models/vf/%2E%2E/other", "'..'"),
        ("s3://models/vf/./x", "'..'"),
        ("file:///etc/passwd", "outside the allowed locations"),
        ("file://evil.example/srv/store/x", "remote host"),
        ("s3://models/vfx/y", "outside"),  # a prefix is a directory, not a string prefix
        ("http://169.254.169.254/latest/meta-data", "scheme 'http'"),
        ("gopher://x/y", "scheme 'gopher'"),
        ("s3://models/vf/x?versionId=1", "query"),
        ("s3://models/vf/a b", "whitespace"),
        ("s3://models/vf/" + "x" * 2100, "longer than"),
        ("", "non-empty"),
    ],
)
def test_storage_uris_breaking_the_rule_are_refused(uri: str, needle: str) -> None:
    with pytest.raises(UriNotAllowed, match=needle):
        check_storage_uri(uri, PREFIXES)


def test_webhook_urls_need_an_allowed_host() -> None:
    assert check_webhook_url("http://127.0.0.1:9000/hook", ["127.0.0.1"]) == "http://127.0.0.1:9000/hook"
    for url in ("http://169.254.169.254/x", "http://metadata.google.internal/x", "https://evil.example/x",
                "file:///x", "http://u:p@127.0.0.1/x"):
        with pytest.raises(UriNotAllowed):
            check_webhook_url(url, ["127.0.0.1", "metadata.google.internal", "169.254.169.254"])


def test_default_prefix_is_the_object_store(tmp_path: object) -> None:
    settings = get_settings(overrides={"home": str(tmp_path)})
    assert allowed_prefixes(settings) == [settings.store.uri]
    custom = get_settings(overrides={"home": str(tmp_path), "registry": {"allowed_uri_prefixes": ["s3://a"]}})
    assert allowed_prefixes(custom) == ["s3://a"]
