"""Fetch model artefacts (pipeline directories) from the object store, verified."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vidforge.digest import sha256_tree
from vidforge.settings import StoreSettings
from vidforge.store import fetch_dir


class DigestMismatchError(RuntimeError):
    """A downloaded artefact's sha256 differs from the recorded one."""


def fetch_pipeline_dir(uri: str, dest: Path, store_settings: StoreSettings, sha256: str | None = None) -> Path:
    """Download the pipeline directory at ``uri`` into ``dest`` and check its digest.

    A local ``file://`` directory is used in place (no copy). Raises:
        FileNotFoundError: nothing at ``uri``.
        DigestMismatchError: ``sha256`` given and the content differs.
    """
    path = fetch_dir(uri, dest, store_settings)
    if sha256 is not None and (actual := sha256_tree(path)) != sha256:
        raise DigestMismatchError(f"{uri}: sha256 {actual} does not match the recorded {sha256}")
    return path


def model_meta(path: Path) -> dict[str, Any]:
    """``vidforge.json`` of a pipeline directory (sizes, fps, motion-bucket edges)."""
    meta = path / "vidforge.json"
    if not meta.is_file():
        raise FileNotFoundError(f"{path} has no vidforge.json: not a vidforge model artefact")
    return dict(json.loads(meta.read_text()))
