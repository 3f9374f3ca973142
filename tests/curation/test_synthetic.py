from __future__ import annotations

import itertools
import json
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from curation.synthetic import (
    GroundTruth,
    ShotSpec,
    VideoSpec,
    demo_specs,
    hard_negative_specs,
    text_area_fraction,
    write_corrupt,
    write_video,
)


def _frames(path: str | Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="gray").astype(np.float32) for f in c.decode(video=0)]


def test_write_video_geometry_cuts_and_keyframes(tmp_path: Path) -> None:
    spec = VideoSpec(shots=(ShotSpec(30), ShotSpec(25, speed=2.0), ShotSpec(20, speed=1.0)), gop=10)
    truth = write_video(spec, tmp_path / "v.mp4")
    with av.open(truth.path) as c:
        stream = c.streams.video[0]
        assert (stream.width, stream.height, stream.codec_context.name) == (160, 120, "h264")
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert float(stream.average_rate) == spec.fps
    assert len(_frames(truth.path)) == truth.num_frames == 75
    assert truth.cuts == truth.hard_cuts == [30, 55] and truth.fade_cuts == []
    assert {0, 30, 55} <= set(truth.keyframes)
    assert {10, 20, 40} <= set(truth.keyframes)  # the GOP elsewhere


def test_no_keyframes_at_cuts_keeps_a_fixed_gop(tmp_path: Path) -> None:
    spec = VideoSpec(shots=(ShotSpec(30), ShotSpec(25, speed=2.0)), gop=12, keyframe_at_cuts=False)
    truth = write_video(spec, tmp_path / "v.mp4")
    assert truth.keyframes == list(range(0, 55, 12))


@pytest.mark.parametrize("speed", [0.0, 1.0, 3.0])
def test_pan_speed_matches_measured_shift(tmp_path: Path, speed: float) -> None:
    truth = write_video(VideoSpec(shots=(ShotSpec(12, speed=speed),), seed=3), tmp_path / "v.mp4")
    frames = _frames(truth.path)
    shifts = [cv2.phaseCorrelate(a, b)[0] for a, b in itertools.pairwise(frames[2:9])]
    measured = float(np.median([np.hypot(*s) for s in shifts]))
    assert measured == pytest.approx(speed, abs=0.25)


def test_fade_reaches_black_and_text_is_recorded(tmp_path: Path) -> None:
    spec = VideoSpec(shots=(ShotSpec(20, speed=1.0, text="HELLO", fade_out=6), ShotSpec(20, fade_in=6)))
    truth = write_video(spec, tmp_path / "v.mp4")
    frames = _frames(truth.path)
    assert truth.fade_cuts == [20] and truth.hard_cuts == []
    assert frames[19].mean() < 8 and frames[20].mean() < 8  # fully black around the boundary
    assert frames[10].mean() > 40 and frames[30].mean() > 40
    shot = truth.shots[0]
    assert shot.text == "HELLO" and 0 < shot.text_area < 0.5
    assert shot.text_area == pytest.approx(text_area_fraction("HELLO", 160, 120))
    assert truth.shots[1].text_area == 0.0


def test_sidecar_holds_ground_truth_and_captions(tmp_path: Path) -> None:
    truth = write_video(VideoSpec(shots=(ShotSpec(10), ShotSpec(10, speed=4.0))), tmp_path / "v.mp4")
    side = json.loads((tmp_path / "v.json").read_text())
    assert side["cuts"] == truth.cuts
    assert [s["start_frame"] for s in side["shots"]] == [0, 10]
    assert "static" in side["shots"][0]["caption_video"]
    assert "fast" in side["shots"][1]["caption_video"]
    assert all(s["caption_summary"] for s in side["shots"])
    assert GroundTruth(**{**side, "shots": []}).num_frames == 20


def test_write_video_rejects_empty_spec(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one shot"):
        write_video(VideoSpec(shots=()), tmp_path / "v.mp4")


def test_demo_suite_covers_every_case(demo_suite: list[GroundTruth]) -> None:
    assert 3 <= len(demo_suite) <= 4 == len(demo_specs())
    assert all(t.num_frames / t.fps <= 8.0 for t in demo_suite)
    shots = [s for t in demo_suite for s in t.shots]
    assert any(s.speed == 0 for s in shots) and any(s.speed >= 4 for s in shots)
    assert any(s.text for s in shots)
    assert any(t.fade_cuts for t in demo_suite) and sum(len(t.hard_cuts) for t in demo_suite) >= 5
    assert all(Path(t.path).with_suffix(".json").is_file() for t in demo_suite)


@pytest.mark.parametrize("mode", ["truncated", "no_frames"])
def test_write_corrupt_does_not_decode(tmp_path: Path, mode: str) -> None:
    path = write_corrupt(tmp_path / "bad.mp4", mode=mode)
    assert 0 < path.stat().st_size < 10_000
    with pytest.raises(av.FFmpegError), av.open(str(path)) as c:
        next(iter(c.decode(video=0)))


def test_hard_negatives_have_no_cut_and_record_their_spans(tmp_path: Path) -> None:
    specs = hard_negative_specs()
    sweep = write_video(specs["sweep"], tmp_path / "sweep.mp4")
    assert sweep.cuts == [] and sweep.sweep_spans == [[16, 24], [44, 60]]
    frames = _frames(sweep.path)
    assert frames[52].std() < 0.2 * frames[10].std()  # mid-sweep the object covers the frame
    whip = write_video(specs["whip_pan"], tmp_path / "whip.mp4")
    assert whip.cuts == [] and whip.whip_spans == [[24, 29], [56, 64]]
    frames = _frames(whip.path)
    sharpness = [float(cv2.Laplacian(f, cv2.CV_32F).var()) for f in frames]
    assert sharpness[26] < 0.3 * sharpness[10]  # motion-blurred during the whip
    assert json.loads(Path(whip.path).with_suffix(".json").read_text())["whip_spans"] == [[24, 29], [56, 64]]
