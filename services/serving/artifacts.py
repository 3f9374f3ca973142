"""Fetch a model version's artefact directory into the local cache and verify it.

``cache_dir/<model>/<version>/`` is filled through a temp directory and a
rename, after the URI passed the allow-list (:mod:`vidforge.uris`, re-checked
here because a registry row may predate a setting) and the tree's sha256
(:func:`vidforge.digest.sha256_tree`) matched the registry's. A cached
directory is re-verified before it is reused.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from vidforge.digest import sha256_tree
from vidforge.store import open_uri
from vidforge.uris import UriNotAllowed, allowed_prefixes, check_storage_uri

if TYPE_CHECKING:
    from services.serving.registry_client import AliasTarget
    from vidforge.settings import Settings


class ArtifactRejectedError(Exception):
    """A version failed download, verification, loading or warm-up; ``reason`` is a short code.

    ``uri_not_allowed``, ``download``, ``sha256_mismatch``, ``load`` or ``warmup``.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class ArtifactCache:
    """The verified local copies of model versions under ``root`` (one directory per version)."""

    def __init__(self, root: str | Path, settings: Settings) -> None:
        self.root = Path(root)
        self.settings = settings

    def fetch(self, target: AliasTarget) -> Path:
        """The verified directory of ``target`` (downloaded unless a verified copy exists).

        Raises:
            ArtifactRejectedError: ``uri_not_allowed``, ``download`` or ``sha256_mismatch``.
        """
        dest = self.root / str(target.version)
        if dest.is_dir() and sha256_tree(dest) == target.sha256:
            return dest
        try:
            check_storage_uri(target.artifact_uri, allowed_prefixes(self.settings), "artifact_uri")
        except UriNotAllowed as e:
            raise ArtifactRejectedError("uri_not_allowed", str(e)) from e
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".tmp-{target.version}-{uuid.uuid4().hex[:8]}"
        try:
            try:
                store, key = open_uri(target.artifact_uri, self.settings.store)
                store.get_dir(key, tmp)
            except Exception as e:
                raise ArtifactRejectedError("download", f"cannot download {target.artifact_uri}: {e}") from e
            digest = sha256_tree(tmp) if tmp.is_dir() else "(nothing downloaded)"
            if digest != target.sha256:
                raise ArtifactRejectedError(
                    "sha256_mismatch", f"{target.artifact_uri} has sha256 {digest}, registry says {target.sha256}"
                )
            shutil.rmtree(dest, ignore_errors=True)
            tmp.rename(dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return dest

    def keep_only(self, versions: set[int]) -> None:
        """Delete cached versions not in ``versions`` (temp directories clean themselves up)."""
        if not self.root.is_dir():
            return
        keep = {str(v) for v in versions}
        for child in self.root.iterdir():
            if child.is_dir() and not child.name.startswith(".") and child.name not in keep:
                shutil.rmtree(child, ignore_errors=True)
