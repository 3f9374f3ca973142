"""The code version recorded with every dataset, checkpoint and model version."""

from __future__ import annotations

import functools
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


@functools.cache
def code_version() -> str:
    """``<package version>+g<git sha>[.dirty]`` when run from a checkout, else the package version."""
    try:
        base = version("vidforge")
    except PackageNotFoundError:  # pragma: no cover - running from a bare tree
        base = "0+unknown"
    repo = Path(__file__).resolve().parents[1]
    try:
        sha = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                             text=True, check=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return base
    return f"{base}+g{sha}" + (".dirty" if dirty else "")
