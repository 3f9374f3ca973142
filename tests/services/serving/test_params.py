"""resolve_params, remap_motion, check_known and ModelDefaults: every bad value is named in the error."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.serving.errors import InvalidParameterError, UnknownParameterError
from services.serving.params import (
    JobRequest,
    Limits,
    ModelDefaults,
    check_known,
    remap_motion,
    request_fields,
    resolve_params,
)
from vidforge.dataset import motion_bucket

EDGES = (0.5, 1.0, 2.0, 4.0, 8.0)
DEFAULTS = ModelDefaults(height=64, width=96, num_frames=4, fps=6, num_inference_steps=30, motion_bucket_edges=EDGES)
LIMITS = Limits(max_frames=8, max_steps=20, max_side=256)


def test_defaults_fill_in_and_are_clamped_to_limits() -> None:
    p = resolve_params(JobRequest(seed=5), DEFAULTS, LIMITS)
    assert (p.height, p.width, p.num_frames, p.fps, p.seed) == (64, 96, 4, 6, 5)
    assert p.num_inference_steps == 20  # model default 30 > max_steps
    assert (p.motion_bucket_id, p.noise_aug_strength, p.min_guidance_scale, p.max_guidance_scale) == (
        127, 0.02, 1.0, 3.0,
    )
    seeds = {resolve_params(JobRequest(), DEFAULTS, LIMITS).seed for _ in range(5)}
    assert len(seeds) > 1  # default seed is random (and recorded in the params)


def test_explicit_values_win() -> None:
    req = JobRequest(fps=24, motion_bucket_id=0, num_frames=8, num_inference_steps=1, seed=0,
                     height=256, width=16, noise_aug_strength=1.0, min_guidance_scale=2, max_guidance_scale=2)
    p = resolve_params(req, DEFAULTS, LIMITS)
    assert p.to_dict() == {
        "height": 256, "width": 16, "num_frames": 8, "num_inference_steps": 1, "fps": 24,
        "motion_bucket_id": 0, "noise_aug_strength": 1.0, "min_guidance_scale": 2,
        "max_guidance_scale": 2, "seed": 0, "motion_score": None,
    }


@pytest.mark.parametrize(
    ("req", "message"),
    [
        (JobRequest(fps=0), "fps=0 is out of range 1..60"),
        (JobRequest(fps=61), "fps=61"),
        (JobRequest(motion_bucket_id=256), "motion_bucket_id=256 is out of range 0..255"),
        (JobRequest(num_frames=9), "num_frames=9 is out of range 2..8"),
        (JobRequest(num_frames=1), "num_frames=1"),
        (JobRequest(num_inference_steps=0), "num_inference_steps=0 is out of range 1..20"),
        (JobRequest(height=60), "height=60 must be a multiple of 8"),
        (JobRequest(width=264), "width=264 is out of range 16..256"),
        (JobRequest(seed=-1), "seed=-1"),
        (JobRequest(seed=2**32), "seed=4294967296"),
        (JobRequest(noise_aug_strength=1.5), "noise_aug_strength=1.5"),
        (JobRequest(min_guidance_scale=4.0), "min_guidance_scale=4.0 exceeds max_guidance_scale=3.0"),
    ],
)
def test_out_of_range_values_are_named(req: JobRequest, message: str) -> None:
    with pytest.raises(InvalidParameterError) as exc:
        resolve_params(req, DEFAULTS, LIMITS)
    assert message in exc.value.message
    assert exc.value.http_status == 422 and isinstance(exc.value, ValueError)


@pytest.mark.parametrize(
    ("score", "bucket"),
    [(0.0, 0), (0.5, 0), (0.75, 51), (3.0, 153), (8.0, 204), (8.5, 255), (1e6, 255)],
)
def test_motion_score_maps_with_the_model_edges(score: float, bucket: int) -> None:
    p = resolve_params(JobRequest(motion_score=score), DEFAULTS, LIMITS)

    assert p.motion_bucket_id == bucket == motion_bucket(score, list(EDGES))
    assert p.motion_score == score and p.to_dict()["motion_score"] == score


def test_same_score_maps_per_model() -> None:
    other = replace(DEFAULTS, motion_bucket_edges=(5.0, 10.0, 20.0, 40.0, 80.0))
    a = resolve_params(JobRequest(motion_score=3.0), DEFAULTS, LIMITS).motion_bucket_id
    b = resolve_params(JobRequest(motion_score=3.0), other, LIMITS).motion_bucket_id
    assert (a, b) == (153, 0)


def test_motion_bucket_id_alone_records_no_score() -> None:
    p = resolve_params(JobRequest(motion_bucket_id=9), DEFAULTS, LIMITS)
    assert (p.motion_bucket_id, p.motion_score) == (9, None)


@pytest.mark.parametrize(
    ("req", "defaults", "message"),
    [
        (JobRequest(motion_score=1.0, motion_bucket_id=9), DEFAULTS,
         "give motion_bucket_id or motion_score, not both (motion_bucket_id=9, motion_score=1.0)"),
        (JobRequest(motion_score=-0.1), DEFAULTS, "motion_score=-0.1 must be a finite number >= 0"),
        (JobRequest(motion_score=float("nan")), DEFAULTS, "motion_score=nan must be a finite number >= 0"),
        (JobRequest(motion_score=float("inf")), DEFAULTS, "motion_score=inf must be a finite number >= 0"),
        (JobRequest(motion_score=1.0), replace(DEFAULTS, motion_bucket_edges=()),
         "the serving model has no motion_bucket_edges"),
    ],
)
def test_bad_motion_requests_are_named(req: JobRequest, defaults: ModelDefaults, message: str) -> None:
    with pytest.raises(InvalidParameterError) as exc:
        resolve_params(req, defaults, LIMITS)
    assert message in exc.value.message and exc.value.http_status == 422


def test_unknown_fields_are_named() -> None:
    check_known(["image", "seed", "return_frames", "motion_score"])
    with pytest.raises(UnknownParameterError, match=r"unknown parameters 'guidance', 'steps'; known: image, "):
        check_known(["image", "steps", "guidance"])
    assert set(request_fields()) >= {"num_frames", "fps", "motion_bucket_id", "motion_score", "noise_aug_strength",
                                     "num_inference_steps", "seed", "min_guidance_scale", "max_guidance_scale",
                                     "height", "width"}


def test_remap_motion_uses_the_running_models_edges() -> None:
    p = resolve_params(JobRequest(motion_score=3.0, seed=1), DEFAULTS, LIMITS)
    other = replace(DEFAULTS, motion_bucket_edges=(5.0, 10.0, 20.0, 40.0, 80.0))
    assert remap_motion(p, DEFAULTS) == p
    assert remap_motion(p, other).motion_bucket_id == motion_bucket(3.0, [5.0, 10.0, 20.0, 40.0, 80.0])
    plain = resolve_params(JobRequest(motion_bucket_id=9, seed=1), DEFAULTS, LIMITS)
    assert remap_motion(plain, other) == plain
    with pytest.raises(InvalidParameterError, match="no motion_bucket_edges"):
        remap_motion(p, replace(DEFAULTS, motion_bucket_edges=()))


def test_model_defaults_from_json_ignores_junk() -> None:
    d = ModelDefaults.from_json({"height": 320, "fps": 8.0, "width": "wide", "num_frames": True, "x": 1})
    assert d == ModelDefaults(height=320, fps=8)


def test_model_defaults_from_json_reads_edges_and_drops_bad_ones() -> None:
    edges = ModelDefaults.from_json({"motion_bucket_edges": [0, 1.5, 1.5, 3]}).motion_bucket_edges
    assert edges == (0.0, 1.5, 1.5, 3.0)
    for junk in ([2.0, 1.0], [1.0, "2"], [1.0, float("nan")], [True, 2.0], "0,1", None):
        assert ModelDefaults.from_json({"motion_bucket_edges": junk}).motion_bucket_edges == (), junk
