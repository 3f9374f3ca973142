"""Captions: three captions per clip (image, video, summary) from a pluggable backend.

Backends, chosen by ``captions.backend``:

* ``sidecar`` (default) reads the source's ``<video>.json`` (see :mod:`curation.sidecar`) and
  gives each clip the captions of the annotated shot it overlaps most; without a sidecar the
  captions stay empty.
* ``transformers`` runs the models of :mod:`curation.models.captioners`: an image captioner on
  the clip's middle frame, a video captioner on its ``frames.video_frames`` sampled frames, and a
  summariser of the two captions. A role without a model takes the sidecar's caption (image,
  video) or :func:`~curation.models.captioners.merge_captions` (summary). Frames come from the
  frames stage when it ran (:func:`curation.media.frames.frames_for`).

Other backends register with :func:`register_backend`. Quarantine codes: ``bad_sidecar``,
``too_short`` (no frame decodes), ``decode_failed`` (the clip cannot be opened or decoded).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

from curation.config import CaptionsConfig, FramesConfig
from curation.items import ClipItem, Item
from curation.media.frames import KEY, SAMPLED, ClipFrames, decode_errors, frames_for
from curation.stages.base import ItemError, Resources, Stage

if TYPE_CHECKING:
    from curation.models.captioners import CaptionModels
    from vidforge.settings import StoreSettings


@dataclass(frozen=True)
class Captions:
    """The three captions of one clip."""

    image: str = ""
    video: str = ""
    summary: str = ""


class CaptionBackend(Protocol):
    """Captions a batch of clips. The constructor stores settings only; ``setup`` loads models once per worker.

    Attributes:
        resources: what one worker needs (the captions stage declares it).
        uses_frames: the backend reads decoded frames (they stay alive until the captions stage).
    """

    resources: Resources
    uses_frames: bool

    def setup(self) -> None:
        """Load models."""
        ...

    def caption(self, clips: list[ClipItem]) -> list[Captions]:
        """One :class:`Captions` per clip, in order (empty strings when unknown)."""
        ...


class SidecarBackend:
    """Captions from the source's sidecar (the shot overlapping the written clip most)."""

    resources = Resources(cpus=0.25)
    uses_frames = False

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


class TransformersBackend:
    """Captions from transformers models (see :mod:`curation.models.captioners`), loaded once per worker.

    Args:
        config: per-role models and generation settings, batch size, device, threads.
        frames: frame decoding settings (used when no frames stage ran).
        store: object-store settings for ``s3://`` model URIs (default: the platform settings).
    """

    def __init__(self, config: CaptionsConfig, frames: FramesConfig, store: StoreSettings | None = None) -> None:
        self.config, self.frames, self.store = config, frames, store
        self.resources = Resources(cpus=1.0, gpus=1.0 if config.device.startswith("cuda") else 0.0)
        self.uses_frames = bool(config.image.model or config.video.model)
        self.want = frozenset({KEY} if config.image.model else set()) | (
            frozenset({SAMPLED}) if config.video.model else frozenset())
        self.models: CaptionModels | None = None

    def setup(self) -> None:
        """Load the configured models."""
        from curation.models.captioners import load_caption_models

        self.models = load_caption_models(self.config, self.store)

    def _frames(self, clip: ClipItem) -> ClipFrames:
        with decode_errors(clip.clip_path):
            return frames_for(clip, self.frames, self.want)

    def caption(self, clips: list[ClipItem]) -> list[Captions]:
        """Read every clip's frames first (a bad clip fails before any generation), then caption in batches.

        Raises:
            ItemError: ``too_short``, ``decode_failed`` or ``bad_sidecar`` (see the module docstring).
        """
        from curation.models.captioners import merge_captions

        assert self.models is not None, "setup() was not called"
        models = self.models
        frames = [self._frames(c) for c in clips] if self.want else []
        side = SidecarBackend().caption(clips) if models.image is None or models.video is None else []
        images = [s.image for s in side] if models.image is None else []
        videos = [s.video for s in side] if models.video is None else []
        size = self.config.batch_size
        with models.torch_threads():
            for i in range(0, len(clips), size):
                chunk = frames[i : i + size]
                if models.image is not None:
                    images += models.image([f.key["middle"] for f in chunk])
                if models.video is not None:
                    videos += models.video([f.sampled for f in chunk])
            pairs = list(zip(images, videos, strict=True))
            summaries = ([s for i in range(0, len(pairs), size) for s in models.summary(pairs[i : i + size])]
                         if models.summary is not None else [merge_captions(i, v) for i, v in pairs])
        return [Captions(i, v, s) for i, v, s in zip(images, videos, summaries, strict=True)]


#: Builds a backend (settings only, no models) from the captions and frames settings and the
#: store settings for ``s3://`` model URIs: ``factory(captions, frames, store)``.
BackendFactory = Callable[[CaptionsConfig, FramesConfig, "StoreSettings | None"], CaptionBackend]

_BACKENDS: dict[str, BackendFactory] = {
    "sidecar": lambda *_: SidecarBackend(),
    "transformers": TransformersBackend,
}


def register_backend(name: str, factory: BackendFactory) -> None:
    """Make a caption backend available to ``captions.backend: <name>`` profiles."""
    _BACKENDS[name] = factory


def backend_names() -> list[str]:
    """Registered backend names."""
    return sorted(_BACKENDS)


class CaptionStage(Stage):
    """Fill ``caption_image``, ``caption_video`` and ``caption_summary``.

    Args:
        config: backend name and the ``transformers`` backend's settings.
        frames: frame decoding settings (used when no frames stage ran).
        store: object-store settings for ``s3://`` model URIs (default: the platform settings).

    Raises:
        ValueError: ``config.backend`` is not registered.
    """

    name: ClassVar[str] = "captions"
    requires: ClassVar[frozenset[str]] = frozenset({"source_path", "start_frame", "end_frame", "clip_path", "fps"})
    populates: ClassVar[frozenset[str]] = frozenset({"caption_image", "caption_video", "caption_summary"})
    resources: ClassVar[Resources] = Resources(cpus=0.25)
    consumes: ClassVar[type[Item]] = ClipItem

    def __init__(self, config: CaptionsConfig, frames: FramesConfig | None = None, *,
                 store: StoreSettings | None = None) -> None:
        if config.backend not in _BACKENDS:
            raise ValueError(f"unknown caption backend {config.backend!r}; known: {backend_names()}")
        self.config = config
        # The backend stores settings here and loads its models in setup(); per instance, the stage
        # declares what that backend needs (a GPU, frames kept alive until this stage).
        self.backend = _BACKENDS[config.backend](config, frames or FramesConfig(), store)
        self.resources = self.backend.resources  # type: ignore[misc]
        self.uses_frames = self.backend.uses_frames  # type: ignore[misc]
        self._ready = False

    def setup(self) -> None:
        """Set up the configured backend (load its models)."""
        self.backend.setup()
        self._ready = True

    def process(self, batch: list[Item]) -> list[Item]:
        """Caption every clip of the batch."""
        assert self._ready, "setup() was not called"
        clips = [c for c in batch if isinstance(c, ClipItem)]
        for clip, caps in zip(clips, self.backend.caption(clips), strict=True):
            clip.caption_image, clip.caption_video, clip.caption_summary = caps.image, caps.video, caps.summary
        return batch
