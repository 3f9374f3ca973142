"""Caption sidecars: the ``<video>.json`` file that public datasets ship next to a video.

A sidecar sits beside its video with the video's suffix replaced by ``.json``
(``clips/a.mp4`` → ``clips/a.json``) and holds per-shot annotations::

    {"shots": [{"start_frame": 0, "end_frame": 48,          # end exclusive
                "caption_image": "...", "caption_video": "...",
                "caption_summary": "..."}, ...],
     ...any other keys (the synthetic generator adds its ground truth)}

A shot may give a single ``caption`` instead of the three fields; it is then
used for all three. Only this module knows the format.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CAPTION_FIELDS: tuple[str, ...] = ("caption_image", "caption_video", "caption_summary")


def sidecar_path(video: str | Path) -> Path:
    """The sidecar path of ``video``: same directory and stem, suffix ``.json``."""
    return Path(video).with_suffix(".json")


@dataclass(frozen=True)
class ShotCaptions:
    """The captions of one annotated shot ``[start_frame, end_frame)``."""

    start_frame: int
    end_frame: int
    caption_image: str
    caption_video: str
    caption_summary: str


def write_sidecar(video: str | Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` (must contain ``shots``) as the sidecar of ``video``; return its path."""
    if "shots" not in payload:
        raise ValueError("a sidecar payload needs a 'shots' list")
    path = sidecar_path(video)
    path.write_text(json.dumps(payload, indent=2))
    return path


def read_shot_captions(video: str | Path) -> list[ShotCaptions] | None:
    """The annotated shots of ``video``'s sidecar, or None when there is no sidecar.

    Raises:
        ValueError: the sidecar exists but is not valid JSON or lacks ``shots``.
    """
    path = sidecar_path(video)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        shots = data["shots"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise ValueError(f"malformed sidecar {path}: {e}") from e
    out = []
    for shot in shots:
        fallback = str(shot.get("caption", ""))
        caps = {f: str(shot.get(f) or fallback) for f in CAPTION_FIELDS}
        out.append(ShotCaptions(int(shot["start_frame"]), int(shot["end_frame"]), **caps))
    return out


def best_shot(shots: list[ShotCaptions], start_frame: int, end_frame: int) -> ShotCaptions | None:
    """The shot overlapping ``[start_frame, end_frame)`` the most (None if none overlaps)."""
    best, best_overlap = None, 0
    for shot in shots:
        overlap = min(end_frame, shot.end_frame) - max(start_frame, shot.start_frame)
        if overlap > best_overlap:
            best, best_overlap = shot, overlap
    return best
