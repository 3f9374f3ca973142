from __future__ import annotations

from pathlib import Path

import av
import pytest

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
