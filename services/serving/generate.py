"""One image-to-video generation: run the SVD pipeline, encode the frames to mp4 (and a PNG zip).

Frames leave the pipeline as float RGB in [0, 1] (``output_type="np"``) and are
written as H.264 / yuv420p, which needs even width and height — every accepted
size is a multiple of 8, so that holds. The mp4 carries the facts of the job
(model name, version, sha256, job id, parameters) as container metadata
(``vidforge_*`` keys, and all of them as JSON in ``comment``).
"""

from __future__ import annotations

import io
import json
import os
import uuid
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from diffusers import StableVideoDiffusionPipeline
    from PIL import Image

#: Frames the VAE decodes at once; bounds peak memory on long clips.
DECODE_CHUNK = 8


@dataclass(frozen=True)
class GenerationParams:
    """Resolved, validated parameters of one generation.

    ``fps`` is the playback rate of the mp4 and the pipeline's fps conditioning
    (the pipeline feeds ``fps - 1`` to the UNet, as SVD was trained).
    ``height``/``width`` are pixels, multiples of 8. ``seed`` seeds a CPU
    ``torch.Generator`` so a job is reproducible from its recorded params.
    ``motion_score`` is the request's score (analysis px/s) when
    ``motion_bucket_id`` was mapped from it, else None; it is recorded only —
    the pipeline is conditioned on ``motion_bucket_id``.
    """

    height: int
    width: int
    num_frames: int
    num_inference_steps: int
    fps: int
    motion_bucket_id: int
    noise_aug_strength: float
    min_guidance_scale: float
    max_guidance_scale: float
    seed: int
    motion_score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GenerationParams:
        """The params stored by :meth:`to_dict` (unknown keys are an error)."""
        return cls(**data)


def generate_frames(
    pipe: StableVideoDiffusionPipeline,
    image: Image.Image,
    params: GenerationParams,
    on_step: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Generate a clip from ``image``.

    Args:
        pipe: a loaded SVD pipeline.
        image: the conditioning RGB image (resized by the pipeline to ``height×width``).
        params: resolved parameters.
        on_step: called with the number of finished denoising steps after each
            step; an exception raised from it stops the generation and propagates.

    Returns:
        ``uint8`` array of shape ``(num_frames, height, width, 3)``.
    """
    import torch

    def callback(_pipe: Any, step: int, _t: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        if on_step is not None:
            on_step(step + 1)
        return kwargs

    with torch.inference_mode():
        out = pipe(
            image,
            height=params.height,
            width=params.width,
            num_frames=params.num_frames,
            num_inference_steps=params.num_inference_steps,
            fps=params.fps,
            motion_bucket_id=params.motion_bucket_id,
            noise_aug_strength=params.noise_aug_strength,
            min_guidance_scale=params.min_guidance_scale,
            max_guidance_scale=params.max_guidance_scale,
            generator=torch.Generator().manual_seed(params.seed),
            output_type="np",
            decode_chunk_size=min(DECODE_CHUNK, params.num_frames),
            callback_on_step_end=callback,
        )
    frames = np.asarray(out.frames[0])
    return (np.clip(frames, 0.0, 1.0) * 255.0).round().astype(np.uint8)


def mp4_metadata(facts: Mapping[str, Any]) -> dict[str, str]:
    """Container tags for ``facts``: each as ``vidforge_<key>`` (JSON for non-strings), all in ``comment``."""
    tags = {f"vidforge_{k}": v if isinstance(v, str) else json.dumps(v, sort_keys=True) for k, v in facts.items()}
    return {**tags, "comment": json.dumps(dict(facts), sort_keys=True)}


def encode_mp4(
    frames: np.ndarray, fps: int, dest: str | Path, metadata: Mapping[str, str] | None = None
) -> Path:
    """Write ``frames`` (``(T, H, W, 3)`` uint8 RGB, even H and W) as H.264 mp4 with ``metadata`` tags.

    The file appears at ``dest`` atomically (temp file + rename).

    Raises:
        ValueError: wrong shape/dtype or odd dimensions.
    """
    import av

    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be (T, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
    t, h, w, _ = frames.shape
    if t == 0 or h % 2 or w % 2:
        raise ValueError(f"need >= 1 frame and even dimensions, got T={t} H={h} W={w}")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.stem}.{uuid.uuid4().hex[:8]}.tmp.mp4")
    try:
        with av.open(str(tmp), mode="w", format="mp4", options={"movflags": "use_metadata_tags"}) as container:
            container.metadata.update(dict(metadata or {}))
            stream = container.add_stream("libx264", rate=fps)
            stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
            stream.options = {"crf": "17", "preset": "medium"}
            for frame in frames:
                vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
                container.mux(stream.encode(vf))
            container.mux(stream.encode(None))
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def frames_zip(frames: np.ndarray, facts: Mapping[str, Any] | None = None) -> bytes:
    """``frames`` (``(T, H, W, 3)`` uint8 RGB) as a zip of lossless PNGs ``frame_00000.png``... plus ``job.json``."""
    from PIL import Image

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for i, frame in enumerate(frames):
            png = io.BytesIO()
            Image.fromarray(np.ascontiguousarray(frame)).save(png, format="PNG", compress_level=1)
            zf.writestr(f"frame_{i:05d}.png", png.getvalue())
        zf.writestr("job.json", json.dumps(dict(facts or {}), sort_keys=True, indent=2))
    return buf.getvalue()
