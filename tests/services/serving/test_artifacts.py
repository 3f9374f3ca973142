"""ArtifactCache: allow-list, download, sha256 verification, reuse, pruning."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.serving.artifacts import ArtifactCache, ArtifactRejectedError
from services.serving.registry_client import AliasTarget
from tests.services.serving.conftest import MODEL, Artifacts
from vidforge.settings import Settings


def _target(version: int, uri: str, sha: str) -> AliasTarget:
    return AliasTarget(MODEL, "production", version, uri, sha)


def test_fetch_verifies_and_reuses(settings: Settings, artifacts: Artifacts, tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path / "c", settings)
    path = cache.fetch(_target(1, artifacts.v1.uri, artifacts.v1.sha256))
    assert path == tmp_path / "c" / "1" and (path / "model_index.json").is_file()
    stamp = (path / "model_index.json").stat().st_mtime_ns
    assert cache.fetch(_target(1, artifacts.v1.uri, artifacts.v1.sha256)) == path
    assert (path / "model_index.json").stat().st_mtime_ns == stamp  # verified copy reused
    assert not [p for p in (tmp_path / "c").iterdir() if p.name.startswith(".tmp")]


@pytest.mark.parametrize(
    ("uri", "sha", "reason"),
    [("file:///etc", "0" * 64, "uri_not_allowed"), (None, "0" * 64, "sha256_mismatch"), ("missing", "0" * 64,
                                                                                          "download")],
)
def test_refusals_name_their_reason(
    settings: Settings, artifacts: Artifacts, tmp_path: Path, uri: str | None, sha: str, reason: str
) -> None:
    if uri is None:
        uri = artifacts.v1.uri
    elif uri == "missing":
        uri = artifacts.store.uri(f"missing/{tmp_path.name}")
    with pytest.raises(ArtifactRejectedError) as info:
        ArtifactCache(tmp_path / "c", settings).fetch(_target(2, uri, sha))
    assert info.value.reason == reason
    assert not (tmp_path / "c" / "2").exists()


def test_keep_only_prunes_other_versions(settings: Settings, artifacts: Artifacts, tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path / "c", settings)
    cache.fetch(_target(1, artifacts.v1.uri, artifacts.v1.sha256))
    cache.fetch(_target(2, artifacts.v2.uri, artifacts.v2.sha256))
    cache.keep_only({2})
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["2"]
