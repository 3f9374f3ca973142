"""Caption models: an image captioner, a video captioner and a summariser (transformers checkpoints).

Each loads from a local directory or an object-store URI (``file://``, ``s3://``; fetched with
:func:`vidforge.store.fetch_dir`), never from a model hub (``local_files_only``):

* :class:`ImageCaptioner` — any ``AutoModelForImageTextToText`` that captions an image without a
  prompt (BLIP, GIT, ``VisionEncoderDecoderModel`` such as ViT-GPT2, ...). The stage gives it the
  clip's middle frame.
* :class:`VideoCaptioner` — a GIT checkpoint with ``num_image_with_embedding = F`` (e.g.
  ``microsoft/git-base-vatex``, F = 6): the clip's sampled frames are resampled to exactly F
  (evenly spaced, repeated when the clip gave fewer) and fed as ``pixel_values`` ``(B, F, 3, H, W)``.
* :class:`Summariser` — an ``AutoModelForSeq2SeqLM`` (T5, BART, ...) prompted with both captions
  through a template with ``{image}`` and ``{video}``. Without a summary model the fallback is
  :func:`merge_captions`, a fixed rule.

Generation is greedy or beam search (``do_sample=False`` overrides a checkpoint's sampling
default), so captions are deterministic. Frames are RGB ``uint8`` ``(H, W, 3)`` arrays.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import torch

from curation.config import CaptionModelConfig, CaptionsConfig, SummaryModelConfig

if TYPE_CHECKING:
    from vidforge.settings import StoreSettings

_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def resolve_model_dir(uri: str, download_dir: str | Path, settings: StoreSettings | None = None) -> Path:
    """A local directory holding the checkpoint at ``uri``.

    Args:
        uri: a local directory, or an object-store URI (``file://`` is used in place, ``s3://``
            is downloaded into a per-URI folder of ``download_dir``).
        download_dir: parent of the download folders.
        settings: store settings for ``s3://`` (default: the platform settings' ``store``).

    Raises:
        FileNotFoundError: nothing exists at ``uri``.
    """
    from vidforge.store import fetch_dir

    if settings is None and uri.startswith("s3://"):
        from vidforge.settings import get_settings

        settings = get_settings().store
    return fetch_dir(uri, Path(download_dir) / hashlib.sha256(uri.encode()).hexdigest()[:16], settings)


def _pil(frame: np.ndarray) -> Any:
    from PIL import Image

    return Image.fromarray(np.ascontiguousarray(frame))


class _Generator:
    """A loaded model with its tokenizer and generation settings."""

    def __init__(self, model: Any, tokenizer: Any, config: CaptionModelConfig) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.config = config

    @property
    def device(self) -> torch.device:
        """Where the model's weights are."""
        return torch.device(self.model.device)

    def generate_ids(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Token ids from ``model.generate`` with the configured settings (deterministic)."""
        with torch.inference_mode():
            return self.model.generate(**inputs, max_new_tokens=self.config.max_new_tokens,
                                       num_beams=self.config.num_beams, do_sample=False)

    def decode(self, ids: torch.Tensor) -> list[str]:
        """Captions of generated ids (special tokens dropped, whitespace stripped)."""
        return [" ".join(text.split()) for text in self.tokenizer.batch_decode(ids, skip_special_tokens=True)]


def _load_vision(path: Path, device: str, dtype: str) -> tuple[Any, Any, Any]:
    """(model, image processor, tokenizer) of an image-to-text checkpoint directory."""
    from transformers import AutoImageProcessor, AutoModelForImageTextToText, AutoProcessor, AutoTokenizer

    model = AutoModelForImageTextToText.from_pretrained(path, dtype=_DTYPES[dtype], local_files_only=True)
    # BLIP/GIT ship a processor; VisionEncoderDecoder checkpoints only an image processor and a
    # tokenizer (AutoProcessor then returns one of them), so fall back to loading each.
    processor = AutoProcessor.from_pretrained(path, local_files_only=True)
    image_processor = getattr(processor, "image_processor", None)
    if image_processor is None:
        image_processor = AutoImageProcessor.from_pretrained(path, local_files_only=True)
    tokenizer = getattr(processor, "tokenizer", None)
    if tokenizer is None:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    return model.to(device).eval(), image_processor, tokenizer


class _VisionGenerator(_Generator):
    """An image-to-text model with its image processor and tokenizer.

    Args:
        model: an ``AutoModelForImageTextToText`` model whose ``generate`` takes ``pixel_values``.
        image_processor: its image processor.
        tokenizer: its tokenizer (decodes the generated ids).
        config: generation settings.
    """

    def __init__(self, model: Any, image_processor: Any, tokenizer: Any, config: CaptionModelConfig) -> None:
        super().__init__(model, tokenizer, config)
        self.image_processor = image_processor

    @classmethod
    def from_pretrained(cls, path: str | Path, config: CaptionModelConfig, device: str = "cpu",
                        dtype: str = "float32") -> Self:
        """Load a checkpoint directory (see :func:`resolve_model_dir` for URIs)."""
        return cls(*_load_vision(Path(path), device, dtype), config)

    def pixel_values(self, images: Sequence[np.ndarray]) -> torch.Tensor:
        """RGB ``uint8`` images → ``(N, 3, S, S)`` on the model's device, in its dtype."""
        pixels = self.image_processor(images=[_pil(im) for im in images], return_tensors="pt")["pixel_values"]
        return pixels.to(self.device, self.model.dtype)


class ImageCaptioner(_VisionGenerator):
    """Unprompted image captioning with an image-to-text model (BLIP, GIT, VisionEncoderDecoder, ...)."""

    def inputs(self, images: Sequence[np.ndarray]) -> dict[str, torch.Tensor]:
        """Model inputs of RGB ``uint8`` images: ``pixel_values`` ``(N, 3, S, S)``."""
        return {"pixel_values": self.pixel_values(images)}

    def __call__(self, images: Sequence[np.ndarray]) -> list[str]:
        """One caption per image."""
        return self.decode(self.generate_ids(self.inputs(images))) if images else []


def resample(frames: Sequence[np.ndarray], count: int) -> list[np.ndarray]:
    """``count`` frames evenly spread over ``frames`` (centred in their segments; repeats when fewer)."""
    if not frames:
        raise ValueError("no frames to resample")
    n = len(frames)
    return [frames[min(n - 1, int((k + 0.5) * n / count))] for k in range(count)]


class VideoCaptioner(_VisionGenerator):
    """Video captioning with a multi-frame GIT checkpoint (``num_image_with_embedding`` frames).

    Raises:
        ValueError: the model does not take several frames.
    """

    def __init__(self, model: Any, image_processor: Any, tokenizer: Any, config: CaptionModelConfig) -> None:
        frames = getattr(model.config, "num_image_with_embedding", None)
        if not frames:
            raise ValueError(f"{type(model).__name__} is not a multi-frame video captioner "
                             "(expected a GIT checkpoint with num_image_with_embedding)")
        super().__init__(model, image_processor, tokenizer, config)
        self.num_frames = int(frames)

    def video_inputs(self, videos: Sequence[Sequence[np.ndarray]]) -> dict[str, torch.Tensor]:
        """Model inputs of clips (each a list of RGB frames): ``pixel_values`` ``(N, F, 3, S, S)``."""
        flat = [frame for video in videos for frame in resample(video, self.num_frames)]
        pixels = self.pixel_values(flat)
        return {"pixel_values": pixels.reshape(len(videos), self.num_frames, *pixels.shape[1:])}

    def __call__(self, videos: Sequence[Sequence[np.ndarray]]) -> list[str]:
        """One caption per clip."""
        return self.decode(self.generate_ids(self.video_inputs(videos))) if videos else []


class Summariser(_Generator):
    """Merges an image and a video caption with a seq2seq text model.

    Args:
        model: an ``AutoModelForSeq2SeqLM`` model.
        tokenizer: its tokenizer.
        config: generation settings and the prompt template (``{image}``, ``{video}``).
    """

    config: SummaryModelConfig

    @classmethod
    def from_pretrained(cls, path: str | Path, config: SummaryModelConfig, device: str = "cpu",
                        dtype: str = "float32") -> Summariser:
        """Load a checkpoint directory (see :func:`resolve_model_dir` for URIs)."""
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        model = AutoModelForSeq2SeqLM.from_pretrained(path, dtype=_DTYPES[dtype], local_files_only=True)
        return cls(model.to(device).eval(), AutoTokenizer.from_pretrained(path, local_files_only=True), config)

    def prompt(self, image: str, video: str) -> str:
        """The model's input text for one pair of captions."""
        return self.config.prompt.format(image=image, video=video)

    def inputs(self, pairs: Sequence[tuple[str, str]]) -> dict[str, torch.Tensor]:
        """Tokenised prompts of ``(image, video)`` caption pairs: ``input_ids``, ``attention_mask`` ``(N, T)``."""
        enc = self.tokenizer([self.prompt(i, v) for i, v in pairs], return_tensors="pt", padding=True,
                             truncation=True)
        return {k: enc[k].to(self.device) for k in ("input_ids", "attention_mask")}

    def __call__(self, pairs: Sequence[tuple[str, str]]) -> list[str]:
        """One summary per ``(image, video)`` pair; ``""`` for a pair of empty captions (no model call)."""
        todo = [i for i, (a, b) in enumerate(pairs) if a.strip() or b.strip()]
        out = [""] * len(pairs)
        if todo:
            for i, text in zip(todo, self.decode(self.generate_ids(self.inputs([pairs[i] for i in todo]))),
                               strict=True):
                out[i] = text
        return out


def merge_captions(image: str, video: str) -> str:
    """The summary when no summary model is configured: a fixed rule, no model.

    The video caption, then the image caption as a second sentence (``"<video>. <image>"``); a
    caption that is empty, or contained in the other (ignoring case), is left out.
    """
    image, video = " ".join(image.split()), " ".join(video.split())
    if not image or image.lower() in video.lower():
        return video
    if not video or video.lower() in image.lower():
        return image
    return f"{video.rstrip('. ')}. {image}"


@dataclass
class CaptionModels:
    """The configured models of one worker (None: that role has no model)."""

    image: ImageCaptioner | None
    video: VideoCaptioner | None
    summary: Summariser | None
    threads: int = 0

    @contextmanager
    def torch_threads(self) -> Iterator[None]:
        """Run with ``threads`` torch intra-op threads (0: leave torch's setting), restored after."""
        before = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(self.threads)
        try:
            yield
        finally:
            torch.set_num_threads(before)


def load_caption_models(config: CaptionsConfig, settings: StoreSettings | None = None) -> CaptionModels:
    """Load every role that has a ``model`` in ``config`` onto ``config.device``.

    Args:
        settings: object-store settings for ``s3://`` URIs (default: the platform settings' ``store``);
            downloads go to a temporary directory, removed once the weights are in memory.

    Raises:
        FileNotFoundError: a configured model does not exist.
        ValueError: the video model is not a multi-frame captioner.
    """
    with tempfile.TemporaryDirectory(prefix="vidforge-captioners-") as tmp:

        def load(role: CaptionModelConfig, cls: Any) -> Any:
            if not role.model:
                return None
            path = resolve_model_dir(role.model, tmp, settings)
            return cls.from_pretrained(path, role, config.device, config.dtype)

        return CaptionModels(image=load(config.image, ImageCaptioner), video=load(config.video, VideoCaptioner),
                             summary=load(config.summary, Summariser), threads=config.threads)
