from __future__ import annotations

from pathlib import Path

import pytest

from curation.config import MotionConfig
from curation.items import ClipItem, Item
from curation.runner import run_stage
from curation.stages.motion import MotionStage, motion_score
from curation.synthetic import ShotSpec, VideoSpec, write_video


@pytest.mark.parametrize("speed", [0.0, 0.5, 2.0, 6.0])
def test_score_tracks_pan_speed(tmp_path: Path, speed: float) -> None:
    spec = VideoSpec(shots=(ShotSpec(48, speed=speed, direction_deg=30),), seed=7)
    truth = write_video(spec, tmp_path / "v.mp4")
    config = MotionConfig()
    expected = speed * config.short_side / min(truth.width, truth.height) * truth.fps
    assert motion_score(truth.path, truth.fps, config) == pytest.approx(expected, rel=0.15, abs=0.5)


def test_static_slow_fast_are_ordered(tmp_path: Path) -> None:
    scores = []
    for speed in (0.0, 0.5, 1.5, 4.0, 8.0):
        truth = write_video(VideoSpec(shots=(ShotSpec(30, speed=speed),), seed=2), tmp_path / f"{speed}.mp4")
        scores.append(motion_score(truth.path, truth.fps, MotionConfig()))
    assert scores == sorted(scores) and len(set(scores)) == len(scores)


def test_a_one_frame_clip_is_quarantined(tmp_path: Path) -> None:
    truth = write_video(VideoSpec(shots=(ShotSpec(1),)), tmp_path / "one.mp4")
    clip = ClipItem(clip_id="c", source_id="s", source_uri="", source_path="", span_start=0, span_end=1,
                    fps=24.0, width=160, height=120, clip_path=truth.path)
    out = run_stage(MotionStage(MotionConfig()), list[Item]([clip]))
    assert out[0].reason == "motion:too_short"
