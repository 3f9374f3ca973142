from __future__ import annotations

from pathlib import Path

from curation.config import load_config
from curation.items import ClipItem, SourceItem
from curation.stages.probe import ProbeStage
from curation.stages.split import SplitStage, spans_from_cuts
from curation.synthetic import GroundTruth


def test_spans_cover_the_video() -> None:
    assert spans_from_cuts([30, 10, 30, 0, 99], 50) == [(0, 10), (10, 30), (30, 50)]
    assert spans_from_cuts([], 7) == [(0, 7)]


def test_split_fans_out_and_filters_short_spans(demo_by_name: dict[str, GroundTruth]) -> None:
    truth = demo_by_name["short_shot"]
    src = SourceItem(source_id="s", source_uri="u", source_path=truth.path)
    ProbeStage().process([src])
    config = load_config()
    out = SplitStage(config.split, config.cuts).process([src])
    assert out[0] is src and src.kept and src.cuts == truth.cuts
    clips = [c for c in out if isinstance(c, ClipItem)]
    assert [(c.span_start, c.span_end) for c in clips] == [(s.start_frame, s.end_frame) for s in truth.shots]
    min_frames = round(config.split.min_clip_s * truth.fps)
    for clip, shot in zip(clips, truth.shots, strict=True):
        short = shot.end_frame - shot.start_frame < min_frames
        assert (clip.reason == "split:too_short") is short and clip.kept is not short
        assert clip.source_id == "s" and clip.fps == truth.fps
    assert len({c.clip_id for c in clips}) == len(clips)
    again = SplitStage(config.split, config.cuts).clips_of(src)
    assert [c.clip_id for c in again] == [c.clip_id for c in clips]  # deterministic ids


def test_min_clip_length_is_configurable(demo_by_name: dict[str, GroundTruth], tmp_path: Path) -> None:
    src = SourceItem(source_id="s", source_uri="u", source_path=demo_by_name["short_shot"].path)
    ProbeStage().process([src])
    config = load_config(overrides={"split": {"min_clip_s": 0.0}})
    out = SplitStage(config.split, config.cuts).process([src])
    assert all(it.kept for it in out)
