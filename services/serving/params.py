"""Validate a job request against the model's defaults and the service's limits.

Everything a client sends is checked here, before a job exists, and each
failure names the offending value (``num_frames=40 is out of range 1..32``).
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from itertools import pairwise
from typing import Any

from services.serving.errors import InvalidParameterError, UnknownParameterError
from services.serving.generate import GenerationParams
from vidforge.dataset import motion_bucket

SEED_MAX = 2**32 - 1
#: Fewest frames per clip. At 1 frame the SVD pipeline's per-frame guidance
#: ramp (linspace(min, max, 1) = [min]) disables classifier-free guidance after
#: the image latents were already doubled for it, and the UNet call fails.
MIN_FRAMES = 2


@dataclass(frozen=True)
class ModelDefaults:
    """Request defaults of a model version (from its ``vidforge.json`` when present).

    ``motion_bucket_edges`` are the ascending motion-score quantiles of the
    dataset the model was trained on (copied by training from ``dataset.json``);
    a request's ``motion_score`` is mapped to ``motion_bucket_id`` with them
    through :func:`vidforge.dataset.motion_bucket`, the mapping training used.
    Empty means the model carries no mapping.
    """

    height: int = 576
    width: int = 1024
    num_frames: int = 14
    fps: int = 7
    num_inference_steps: int = 25
    motion_bucket_edges: tuple[float, ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelDefaults:
        """Defaults from a parsed ``vidforge.json``; missing or junk keys keep the class defaults.

        ``motion_bucket_edges`` is taken only when it is a list of finite numbers
        in ascending order (anything else would map scores to wrong buckets).
        """
        picked: dict[str, Any] = {
            k: int(data[k])
            for k in ("height", "width", "num_frames", "fps", "num_inference_steps")
            if _is_number(data.get(k))
        }
        edges = data.get("motion_bucket_edges")
        if (
            isinstance(edges, list)
            and all(_is_number(e) and math.isfinite(e) for e in edges)
            and all(a <= b for a, b in pairwise(edges))
        ):
            picked["motion_bucket_edges"] = tuple(float(e) for e in edges)
        return replace(cls(), **picked)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Limits:
    """Upper bounds the service enforces (from ``settings.serving``)."""

    max_frames: int
    max_steps: int
    max_side: int
    min_side: int = 16


@dataclass(frozen=True)
class JobRequest:
    """What a client asked for; ``None`` means "use the default"."""

    fps: int | None = None
    motion_bucket_id: int | None = None
    #: Desired motion in the curation's units (analysis px/s, ``curation/stages/motion.py``);
    #: mapped to ``motion_bucket_id`` with the model's edges. Exclusive with ``motion_bucket_id``.
    motion_score: float | None = None
    num_frames: int | None = None
    num_inference_steps: int | None = None
    seed: int | None = None
    height: int | None = None
    width: int | None = None
    noise_aug_strength: float | None = None
    min_guidance_scale: float | None = None
    max_guidance_scale: float | None = None


#: Form fields of ``POST /v1/jobs`` that are not generation parameters.
OTHER_FIELDS = ("image", "return_frames")


def request_fields() -> tuple[str, ...]:
    """Every form field ``POST /v1/jobs`` accepts."""
    return (*OTHER_FIELDS, *(f.name for f in fields(JobRequest)))


def check_known(sent: Iterable[str]) -> None:
    """Refuse fields the API does not define (a typo would otherwise silently fall back to a default).

    Raises:
        UnknownParameterError: naming every unknown field and listing the known ones.
    """
    unknown = sorted(set(sent) - set(request_fields()))
    if unknown:
        raise UnknownParameterError(
            f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(repr(u[:64]) for u in unknown[:20])}; "
            f"known: {', '.join(request_fields())}"
        )


def _check_range(name: str, value: float, lo: float, hi: float) -> None:
    if not lo <= value <= hi:
        raise InvalidParameterError(f"{name}={value} is out of range {lo}..{hi}")


def _side(name: str, value: int, limits: Limits) -> int:
    _check_range(name, value, limits.min_side, limits.max_side)
    if value % 8:
        raise InvalidParameterError(f"{name}={value} must be a multiple of 8")
    return value


def resolve_motion_bucket(req: JobRequest, defaults: ModelDefaults) -> int:
    """The request's effective ``motion_bucket_id`` (not yet range-checked).

    ``motion_bucket_id`` when given; else ``motion_score`` mapped with the
    model's ``motion_bucket_edges`` by :func:`vidforge.dataset.motion_bucket`;
    else 127, SVD's default.

    Raises:
        InvalidParameterError: both are given; ``motion_score`` is negative, NaN or
            infinite; or ``motion_score`` is given and the model has no edges.
    """
    if req.motion_score is None:
        return 127 if req.motion_bucket_id is None else req.motion_bucket_id
    if req.motion_bucket_id is not None:
        raise InvalidParameterError(
            f"give motion_bucket_id or motion_score, not both (motion_bucket_id={req.motion_bucket_id}, "
            f"motion_score={req.motion_score})"
        )
    if not (math.isfinite(req.motion_score) and req.motion_score >= 0):
        raise InvalidParameterError(f"motion_score={req.motion_score} must be a finite number >= 0 (px/s)")
    if not defaults.motion_bucket_edges:
        raise InvalidParameterError(
            "motion_score cannot be mapped: the serving model has no motion_bucket_edges in its "
            "vidforge.json; send motion_bucket_id (0..255) instead"
        )
    return motion_bucket(req.motion_score, list(defaults.motion_bucket_edges))


def remap_motion(params: GenerationParams, defaults: ModelDefaults) -> GenerationParams:
    """``params`` with ``motion_score`` (when given) mapped by the edges of the model about to run the job.

    A job is resolved at submit with the model serving then; if another version
    runs it, that version's own dataset quantiles apply to the requested score.

    Raises:
        InvalidParameterError: a ``motion_score`` and a model without edges.
    """
    if params.motion_score is None:
        return params
    req = JobRequest(motion_score=params.motion_score)
    return replace(params, motion_bucket_id=resolve_motion_bucket(req, defaults))


def resolve_params(req: JobRequest, defaults: ModelDefaults, limits: Limits) -> GenerationParams:
    """Fill defaults into ``req`` and check every value.

    ``motion_bucket_id`` comes from :func:`resolve_motion_bucket`; the request's
    ``motion_score`` (if any) is recorded next to it.

    Raises:
        InvalidParameterError: a value is out of range or the motion fields conflict
            (the message names the value).
    """

    def pick(value: Any, default: Any) -> Any:
        return default if value is None else value

    params = GenerationParams(
        height=pick(req.height, defaults.height),
        width=pick(req.width, defaults.width),
        num_frames=pick(req.num_frames, min(defaults.num_frames, limits.max_frames)),
        num_inference_steps=pick(
            req.num_inference_steps, min(defaults.num_inference_steps, limits.max_steps)
        ),
        fps=pick(req.fps, defaults.fps),
        motion_bucket_id=resolve_motion_bucket(req, defaults),
        noise_aug_strength=pick(req.noise_aug_strength, 0.02),
        min_guidance_scale=pick(req.min_guidance_scale, 1.0),
        max_guidance_scale=pick(req.max_guidance_scale, 3.0),
        seed=pick(req.seed, secrets.randbelow(SEED_MAX + 1)),
        motion_score=req.motion_score,
    )
    _side("height", params.height, limits)
    _side("width", params.width, limits)
    _check_range("num_frames", params.num_frames, MIN_FRAMES, limits.max_frames)
    _check_range("num_inference_steps", params.num_inference_steps, 1, limits.max_steps)
    _check_range("fps", params.fps, 1, 60)
    _check_range("motion_bucket_id", params.motion_bucket_id, 0, 255)
    _check_range("noise_aug_strength", params.noise_aug_strength, 0.0, 1.0)
    _check_range("min_guidance_scale", params.min_guidance_scale, 0.0, 20.0)
    _check_range("max_guidance_scale", params.max_guidance_scale, 0.0, 20.0)
    _check_range("seed", params.seed, 0, SEED_MAX)
    if params.min_guidance_scale > params.max_guidance_scale:
        raise InvalidParameterError(
            f"min_guidance_scale={params.min_guidance_scale} exceeds "
            f"max_guidance_scale={params.max_guidance_scale}"
        )
    return params
