"""Captions: three captions per clip (image, video, summary) from a pluggable backend.

The only backend in this slice, ``sidecar``, reads the source's ``<video>.json``
(see :mod:`curation.sidecar`) and gives each clip the captions of the annotated
shot it overlaps most; without a sidecar the captions stay empty. Model-based
backends (an image captioner on the middle frame, a video captioner, an LLM
summary) register under their own name with :func:`register_backend`.
Quarantine code: ``bad_sidecar``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Protocol

from curation.config import CaptionsConfig
from curation.items import ClipItem, Item
from curation.stages.base import ItemError, Resources, Stage


@dataclass(frozen=True)
class Captions:
    """The three captions of one clip."""

    image: str = ""
    video: str = ""
    summary: str = ""


class CaptionBackend(Protocol):
    """Captions a batch of clips. ``setup`` loads models once per worker."""

    resources: Resources

    def setup(self) -> None:
        """Load models."""
        ...

    def caption(self, clips: list[ClipItem]) -> list[Captions]:
        """One :class:`Captions` per clip, in order (empty strings when unknown)."""
        ...


class SidecarBackend:
    """Captions from the source's sidecar (the shot overlapping the written clip most)."""

    resources = Resources(cpus=0.25)

    def setup(self) -> None:
        """Nothing to load."""

    def caption(self, clips: list[ClipItem]) -> list[Captions]:
        """Look each clip's span up in its source's sidecar.

        Raises:
            ItemError: ``bad_sidecar`` when a sidecar exists but cannot be parsed.
        """
        from curation.sidecar import best_shot, read_shot_captions

        out = []
        for clip in clips:
            try:
                shots = read_shot_captions(clip.source_path)
            except ValueError as e:
                raise ItemError("bad_sidecar", str(e)) from e
            start = clip.start_frame if clip.start_frame is not None else clip.span_start
            end = clip.end_frame if clip.end_frame is not None else clip.span_end
            shot = best_shot(shots or [], start, end)
            out.append(Captions(shot.caption_image, shot.caption_video, shot.caption_summary)
                       if shot else Captions())
        return out


_BACKENDS: dict[str, Callable[[], CaptionBackend]] = {"sidecar": SidecarBackend}


def register_backend(name: str, factory: Callable[[], CaptionBackend]) -> None:
    """Make a caption backend available to ``captions.backend: <name>`` profiles."""
    _BACKENDS[name] = factory


def backend_names() -> list[str]:
    """Registered backend names."""
    return sorted(_BACKENDS)


class CaptionStage(Stage):
    """Fill ``caption_image``, ``caption_video`` and ``caption_summary``."""

    name: ClassVar[str] = "captions"
    requires: ClassVar[frozenset[str]] = frozenset({"source_path", "start_frame", "end_frame", "clip_path"})
    populates: ClassVar[frozenset[str]] = frozenset({"caption_image", "caption_video", "caption_summary"})
    resources: ClassVar[Resources] = Resources(cpus=0.25)
    consumes: ClassVar[type[Item]] = ClipItem

    def __init__(self, config: CaptionsConfig) -> None:
        if config.backend not in _BACKENDS:
            raise ValueError(f"unknown caption backend {config.backend!r}; known: {backend_names()}")
        self.config = config
        self.backend: CaptionBackend | None = None

    def setup(self) -> None:
        """Build and set up the configured backend."""
        self.backend = _BACKENDS[self.config.backend]()
        self.backend.setup()

    def process(self, batch: list[Item]) -> list[Item]:
        """Caption every clip of the batch."""
        assert self.backend is not None, "setup() was not called"
        clips = [c for c in batch if isinstance(c, ClipItem)]
        for clip, caps in zip(clips, self.backend.caption(clips), strict=True):
            clip.caption_image, clip.caption_video, clip.caption_summary = caps.image, caps.video, caps.summary
        return batch
