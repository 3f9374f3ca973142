from __future__ import annotations

from pathlib import Path

import av
import pytest

from curation.badinputs import VFR_SEGMENTS, write_vfr, write_wrong_container
from curation.config import ClipConfig, load_config
from curation.items import ClipItem, Item, SourceItem
from curation.runner import run_stage
from curation.stages.clip import ClipStage
from curation.stages.probe import ProbeStage
from curation.stages.split import SplitStage
from curation.synthetic import GroundTruth


def _clips(path: str) -> list[ClipItem]:
    src = SourceItem(source_id="s", source_uri="u", source_path=path)
    ProbeStage().process([src])
    config = load_config(overrides={"split": {"min_clip_s": 0.0}})
    return [c for c in SplitStage(config.split, config.cuts).process([src]) if isinstance(c, ClipItem)]


def _count(path: str) -> int:
    with av.open(path) as c:
        return sum(1 for _ in c.decode(video=0))


@pytest.mark.parametrize("snap", ["before", "after"])
def test_clips_snap_to_the_gop(demo_by_name: dict[str, GroundTruth], tmp_path: Path, snap: str) -> None:
    truth = demo_by_name["short_shot"]  # fixed GOP, no keyframes at cuts
    clips = _clips(truth.path)
    stage = ClipStage(ClipConfig(snap=snap, keyframe_slack=0), tmp_path)
    out = run_stage(stage, list[Item](clips))
    for clip in out:
        assert isinstance(clip, ClipItem)
        if not clip.kept:
            assert snap == "after" and clip.reason == "clip:no_keyframe"
            continue
        assert clip.start_frame is not None and clip.end_frame is not None
        assert clip.start_frame % truth.gop == 0
        if snap == "before":
            assert clip.span_start - truth.gop < clip.start_frame <= clip.span_start
        else:
            assert clip.span_start <= clip.start_frame < clip.span_start + truth.gop
        assert clip.span_end - 4 <= clip.end_frame <= clip.span_end
        assert _count(clip.clip_path) == clip.end_frame - clip.start_frame
        assert clip.start_s == pytest.approx(clip.start_frame / truth.fps)
        assert clip.end_s == pytest.approx(clip.end_frame / truth.fps)
    assert sum(c.kept for c in out) >= 2


def test_keyframes_at_cuts_give_exact_shots(demo_by_name: dict[str, GroundTruth], tmp_path: Path) -> None:
    truth = demo_by_name["cuts"]
    out = ClipStage(load_config().clip, tmp_path).process(list[Item](_clips(truth.path)))
    starts = [c.start_frame for c in out if isinstance(c, ClipItem)]
    assert starts == [s.start_frame for s in truth.shots]


def test_vfr_clips_get_their_own_rate(tmp_path: Path) -> None:
    clips = _clips(str(write_vfr(tmp_path / "vfr.mp4")))
    (average,) = {c.fps for c in clips}  # the split gives every clip the source's average rate, ~22 fps
    assert 20 < average < 24
    out = ClipStage(load_config().clip, tmp_path / "clips").process(list[Item](clips))
    got = [(c.start_frame, c.end_frame, c.start_s, c.end_s, c.fps) for c in out if isinstance(c, ClipItem)]
    assert got == [(0, 48, 0.0, 2.0, 24.0), (48, 72, 2.0, 4.0, 12.0), (72, 132, 4.0, 6.0, 30.0)]
    assert [fps for *_, fps in got] == [fps for fps, _ in VFR_SEGMENTS]


def test_a_codec_mp4_cannot_hold_is_quarantined(tmp_path: Path) -> None:
    clips = _clips(str(write_wrong_container(tmp_path / "vp8.mp4", "webm_vp8")))
    out = run_stage(ClipStage(load_config().clip, tmp_path / "clips"), list[Item](clips))
    assert len(out) == 2 and {c.reason for c in out} == {"clip:unsupported_codec"}
    assert all("cannot hold vp8" in c.error for c in out)
