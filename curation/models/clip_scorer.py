"""CLIP scores of a clip: aesthetic (LAION-style head) and caption–frame similarity.

A :class:`ClipScorer` holds a transformers ``CLIPModel``, its tokenizer and image
processor, and optionally an :class:`~curation.models.aesthetic.AestheticHead`,
loaded by :func:`load_clip_scorer` from a CLIP directory in the Hugging Face
layout (``config.json`` + ``model.safetensors``, ``tokenizer.json`` …,
``preprocessor_config.json`` — e.g. ``openai/clip-vit-large-patch14`` saved
once) given as a local path or object-store URI. Nothing is ever fetched from a
model hub.

For each clip the key frames (first, middle, last) of every clip of a call go
through the image tower in one batch:

* ``aesthetic`` = mean over the frames of ``head(e / ‖e‖)`` (None without a head);
* ``similarity`` = mean over the frames of ``cos(text embedding, e)`` of the
  clip's caption (None when the clip has no caption). Captions longer than the
  text tower's positions (77 tokens for CLIP) are truncated.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from curation.models.aesthetic import AestheticHead
from vidforge.store import fetch_dir

if TYPE_CHECKING:
    import numpy as np

    from vidforge.settings import StoreSettings


@dataclass(frozen=True)
class ClipScores:
    """Scores of one clip (None: not computed — no head, or no caption)."""

    aesthetic: float | None
    similarity: float | None


class ClipScorer:
    """CLIP image/text embeddings plus an optional aesthetic head, on one device.

    Args:
        model: a transformers ``CLIPModel``.
        tokenizer: its tokenizer (a ``PreTrainedTokenizerFast``-like callable).
        image_processor: its image processor (resize, centre crop, normalise).
        head: the aesthetic head; its ``embed_dim`` must equal the model's projection dim.
        device: torch device the model runs on (``"cpu"``, ``"cuda"``).

    Raises:
        ValueError: the head's ``embed_dim`` differs from the model's projection dim.
    """

    def __init__(self, model: Any, tokenizer: Any, image_processor: Any, head: AestheticHead | None = None,
                 device: str = "cpu") -> None:
        dim = int(model.config.projection_dim)
        if head is not None and head.embed_dim != dim:
            raise ValueError(f"aesthetic head embed_dim {head.embed_dim} != CLIP projection_dim {dim}")
        self.device = torch.device(device)
        self.model = model.eval().to(self.device)
        self.tokenizer = tokenizer
        self.image_processor = image_processor
        self.head = head.eval().to(self.device) if head is not None else None
        self.max_tokens = int(model.config.text_config.max_position_embeddings)

    @torch.inference_mode()
    def embed_images(self, images: Sequence[np.ndarray]) -> torch.Tensor:
        """L2-normalised embeddings ``(N, D)`` (float32, CPU) of RGB ``uint8`` ``(H, W, 3)`` images, one batch."""
        pixels = self.image_processor(images=list(images), return_tensors="pt")["pixel_values"].to(self.device)
        pooled = self.model.vision_model(pixel_values=pixels).pooler_output
        return torch.nn.functional.normalize(self.model.visual_projection(pooled).float(), dim=-1).cpu()

    @torch.inference_mode()
    def embed_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """L2-normalised embeddings ``(M, D)`` (float32, CPU) of ``texts`` (truncated to the text tower), one batch."""
        enc = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_tokens,
                             return_tensors="pt").to(self.device)
        pooled = self.model.text_model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).pooler_output
        return torch.nn.functional.normalize(self.model.text_projection(pooled).float(), dim=-1).cpu()

    @torch.inference_mode()
    def score(self, frames: Sequence[Sequence[np.ndarray]], captions: Sequence[str]) -> list[ClipScores]:
        """Scores of several clips: every frame in one image batch, every distinct caption in one text batch.

        Args:
            frames: per clip, its RGB ``uint8`` frames (first, middle, last); at least one each.
            captions: per clip, the caption to compare with (``""``: none → ``similarity`` None).

        Returns:
            One :class:`ClipScores` per clip, in order.

        Raises:
            ValueError: ``frames`` and ``captions`` differ in length, or a clip has no frame.
        """
        if len(frames) != len(captions):
            raise ValueError(f"{len(frames)} clips of frames but {len(captions)} captions")
        if any(len(f) == 0 for f in frames):
            raise ValueError("every clip needs at least one frame")
        if not frames:
            return []
        images = self.embed_images([img for clip in frames for img in clip])
        texts = sorted({c for c in captions if c})
        text_emb = dict(zip(texts, self.embed_texts(texts), strict=True)) if texts else {}
        aesthetic = self.head(images.to(self.device)).float().cpu() if self.head is not None else None
        out, start = [], 0
        for clip, caption in zip(frames, captions, strict=True):
            span = slice(start, start + len(clip))
            start = span.stop
            out.append(ClipScores(
                aesthetic=float(aesthetic[span].mean()) if aesthetic is not None else None,
                similarity=float((images[span] @ text_emb[caption]).mean()) if caption else None,
            ))
        return out


def load_clip_scorer(model_uri: str, head_uri: str = "", device: str = "cpu",
                     settings: StoreSettings | None = None) -> ClipScorer:
    """Load a :class:`ClipScorer` from a CLIP directory and (optionally) an aesthetic head directory.

    Args:
        model_uri: local path, ``file://`` or ``s3://`` URI of a CLIP directory in the Hugging Face
            layout (safetensors weights).
        head_uri: same for an :class:`~curation.models.aesthetic.AestheticHead` directory; ``""``: no head
            (``aesthetic`` stays None).
        device: torch device to run on.
        settings: object-store settings for ``s3://`` URIs (endpoint, region).

    Raises:
        FileNotFoundError: nothing at a URI, or a directory lacks a required file.
        ValueError: the head does not fit the model.
    """
    from transformers import AutoImageProcessor, AutoTokenizer, CLIPModel

    with tempfile.TemporaryDirectory(prefix="vidforge-clip-") as tmp:
        model_dir = fetch_dir(model_uri, Path(tmp) / "model", settings)
        if not (model_dir / "config.json").is_file():
            raise FileNotFoundError(f"{model_uri} is not a CLIP directory: missing config.json")
        model = CLIPModel.from_pretrained(model_dir, local_files_only=True, use_safetensors=True)
        tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
        image_processor = AutoImageProcessor.from_pretrained(model_dir, local_files_only=True)
        head = AestheticHead.from_pretrained(fetch_dir(head_uri, Path(tmp) / "head", settings)) if head_uri else None
    return ClipScorer(model, tokenizer, image_processor, head, device)
