"""Tests of curation/media/frames.py: :func:`decode_errors` maps decode failures to the clip's quarantine codes;
the motion settings are needed (and only needed) for flow pairs; a clip whose container counts no frames is
counted without seeking."""

from __future__ import annotations

import av
import numpy as np
import pytest

from curation.config import FramesConfig, MotionConfig
from curation.items import ClipItem
from curation.media.frames import (
    ALL,
    FLOW,
    KEY,
    SAMPLED,
    TooShortError,
    decode_clip_frames,
    decode_errors,
    frames_for,
    key_indices,
)
from curation.oddinputs import FPS, SHOT_FRAMES, SHOTS, SIZE, OddInput
from curation.stages.base import ItemError
from curation.synthetic import GroundTruth


@pytest.mark.parametrize("clip_path", [None, "clip.mp4"])
def test_a_too_short_clip_is_too_short(clip_path: str | None) -> None:
    with pytest.raises(ItemError) as info, decode_errors(clip_path):
        raise TooShortError("clip.mp4: no frame decodes")
    assert info.value.code == "too_short" and str(info.value) == "clip.mp4: no frame decodes"


@pytest.mark.parametrize("error", [OSError("gone"), av.InvalidDataError(1094995529, "bad data")])
def test_decode_failures_become_decode_failed_only_with_a_path(error: Exception) -> None:
    with pytest.raises(ItemError) as info, decode_errors("clip.mp4"):
        raise error
    assert info.value.code == "decode_failed" and str(info.value).startswith("cannot decode clip.mp4: ")
    with pytest.raises(type(error)), decode_errors():
        raise error


@pytest.mark.parametrize("want", [frozenset({FLOW}), ALL])
def test_flow_without_motion_settings_is_a_clear_error_before_any_decode(want: frozenset[str]) -> None:
    with pytest.raises(ValueError, match="needs the motion settings"):
        decode_clip_frames("no-such-clip.mp4", 24.0, FramesConfig(), want)
    clip = ClipItem(clip_id="c", source_id="s", source_uri="u", source_path="s.mp4", span_start=0, span_end=1,
                    fps=24.0, width=8, height=8, clip_path="no-such-clip.mp4")
    with pytest.raises(ValueError, match="needs the motion settings"):
        frames_for(clip, FramesConfig(), want)


def test_key_and_sampled_frames_need_no_motion_settings(demo_by_name: dict[str, GroundTruth]) -> None:
    truth = demo_by_name["fast"]
    want = frozenset({KEY, SAMPLED})
    alone = decode_clip_frames(truth.path, truth.fps, FramesConfig(), want)
    both = decode_clip_frames(truth.path, truth.fps, FramesConfig(), motion=MotionConfig())
    assert alone.decoded == want and not alone.flow and both.flow
    for name in ("first", "middle", "last"):
        assert (alone.key[name] == both.key[name]).all()
    assert alone.sampled_index == both.sampled_index


@pytest.mark.parametrize("name", ["mkv_no_cues", "fragmented_mp4"])
def test_a_clip_whose_container_counts_no_frames_is_counted_without_seeking(
    odd_inputs: dict[str, OddInput], name: str
) -> None:
    # Their containers list no frame count, so the packets are counted first; rewinding after that by a
    # seek used to raise EPERM on the Matroska file (it has no index to seek with).
    path = odd_inputs[name].path
    with av.open(str(path)) as c:
        assert c.streams.video[0].frames == 0
        decoded = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    frames = decode_clip_frames(path, FPS, FramesConfig(max_side=max(SIZE)), frozenset({KEY}))
    assert frames.num_frames == len(decoded) == SHOTS * SHOT_FRAMES
    for name_, index in key_indices(len(decoded)).items():
        assert np.array_equal(frames.key[name_], decoded[index])
