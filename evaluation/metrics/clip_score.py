"""CLIP score of generated videos: image–frame and text–frame similarity.

Embeddings come from the curation CLIP (:class:`curation.models.clip_scorer.ClipScorer`,
loaded by ``load_clip_scorer`` from a configured CLIP directory — one CLIP
implementation for the platform); they are L2-normalised, so similarities are cosines.

* ``clip_image`` — for each sample, the mean over generated frames of
  ``cos(E(conditioning image), E(frame))``: does the video stay with the given image.
* ``clip_text`` — for text-conditioned samples (with a caption), the mean over
  frames of ``cos(E_text(caption), E(frame))``; samples without a caption are not scored.

Values are raw cosines in [−1, 1] (SVD-MV reports CLIP-S 0.89 on this scale);
higher is better. Frames are passed as RGB ``uint8``; the CLIP's own image
processor resizes and normalises them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from curation.models.clip_scorer import ClipScorer


def to_uint8(frames: np.ndarray) -> np.ndarray:
    """Float frames in [0, 1] → ``uint8``."""
    return (np.clip(frames, 0.0, 1.0) * 255.0).round().astype(np.uint8)


def _frame_embeddings(scorer: ClipScorer, videos: Sequence[np.ndarray]) -> list[np.ndarray]:
    flat = [f for v in videos for f in to_uint8(np.asarray(v))]
    emb = scorer.embed_images(flat).numpy()
    out, start = [], 0
    for v in videos:
        out.append(emb[start : start + len(v)])
        start += len(v)
    return out


def image_frame_similarity(scorer: ClipScorer, images: Sequence[np.ndarray],
                           videos: Sequence[np.ndarray]) -> list[float]:
    """Per sample, mean cos(E(image), E(frame)) — ``images`` ``[H, W, 3]`` and ``videos`` ``[T, H, W, 3]`` in [0, 1].

    Raises:
        ValueError: ``images`` and ``videos`` differ in length.
    """
    if len(images) != len(videos):
        raise ValueError(f"{len(images)} images but {len(videos)} videos")
    if not videos:
        return []
    cond = scorer.embed_images([to_uint8(np.asarray(i)) for i in images]).numpy()
    return [float((f @ c).mean()) for f, c in zip(_frame_embeddings(scorer, videos), cond, strict=True)]


def text_frame_similarity(scorer: ClipScorer, captions: Sequence[str],
                          videos: Sequence[np.ndarray]) -> list[float | None]:
    """Per sample, mean cos(E_text(caption), E(frame)); None where the caption is empty.

    Raises:
        ValueError: ``captions`` and ``videos`` differ in length.
    """
    if len(captions) != len(videos):
        raise ValueError(f"{len(captions)} captions but {len(videos)} videos")
    keep = [i for i, c in enumerate(captions) if c]
    if not keep:
        return [None] * len(videos)
    texts = scorer.embed_texts([captions[i] for i in keep]).numpy()
    frames = _frame_embeddings(scorer, [videos[i] for i in keep])
    out: list[float | None] = [None] * len(videos)
    for i, f, t in zip(keep, frames, texts, strict=True):
        out[i] = float((f @ t).mean())
    return out
