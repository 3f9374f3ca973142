from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from pydantic import ValidationError

from curation.config import load_config
from curation.items import ClipItem, SourceItem
from curation.reasons import is_known
from curation.stages.probe import ProbeStage
from curation.stages.split import SplitStage, pieces, spans_from_cuts
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


def test_pieces_are_the_fewest_equal_spans_within_the_maximum() -> None:
    assert pieces(10, 30, 20) == [(10, 30)]
    assert pieces(0, 50, 20) == [(0, 17), (17, 33), (33, 50)]
    assert pieces(0, 50, None) == [(0, 50)]


def test_long_shots_become_several_clips_of_at_most_the_maximum(demo_by_name: dict[str, GroundTruth]) -> None:
    truth = demo_by_name["fast"]  # shots of 110 and 50 frames at 24 fps
    src = SourceItem(source_id="s", source_uri="u", source_path=truth.path)
    ProbeStage().process([src])
    config = load_config(overrides={"split": {"max_clip_s": 2.0}})  # 48 frames
    clips = [c for c in SplitStage(config.split, config.cuts).process([src]) if isinstance(c, ClipItem)]
    assert [(c.span_start, c.span_end) for c in clips] == [(0, 37), (37, 73), (73, 110), (110, 135), (135, 160)]
    assert [(c.shot_start_frame, c.shot_end_frame) for c in clips] == [(0, 110)] * 3 + [(110, 160)] * 2
    assert all(c.kept for c in clips) and len({c.clip_id for c in clips}) == 5
    with pytest.raises(ValidationError, match="at least twice"):
        load_config(overrides={"split": {"max_clip_s": 1.5}})


def _tiny(path: Path, size: int) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=24)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(48):
            frame = av.VideoFrame.from_ndarray(np.full((size, size, 3), i * 5, np.uint8), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


@pytest.mark.parametrize("size", [4, 16])
def test_tiny_videos_are_filtered_with_a_reason(tmp_path: Path, size: int) -> None:
    src = SourceItem(source_id="s", source_uri="u", source_path=str(_tiny(tmp_path / f"{size}.mp4", size)))
    ProbeStage().process([src])
    config = load_config()
    out = SplitStage(config.split, config.cuts).process([src])
    assert src.kept and src.cuts == []  # no cut detection on it
    (clip,) = [c for c in out if isinstance(c, ClipItem)]
    assert (clip.span_start, clip.span_end, clip.status, clip.reason) == (0, 48, "filtered", "split:low_resolution")
    assert is_known(clip.reason)
    lenient = load_config(overrides={"split": {"min_short_side": 4}})
    assert all(c.reason != "split:low_resolution" for c in SplitStage(lenient.split, lenient.cuts).process([src]))
