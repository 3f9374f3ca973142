from __future__ import annotations

from pathlib import Path

import pytest

from curation.config import CaptionsConfig
from curation.items import ClipItem, Item
from curation.runner import run_stage
from curation.stages.base import Resources
from curation.stages.captions import Captions, CaptionStage, backend_names, register_backend
from curation.synthetic import GroundTruth


def _clip(path: str, start: int, end: int) -> ClipItem:
    return ClipItem(clip_id=f"c{start}", source_id="s", source_uri="", source_path=path, span_start=start,
                    span_end=end, fps=24.0, width=160, height=120, start_frame=start, end_frame=end)


def test_sidecar_captions_follow_the_shot(demo_by_name: dict[str, GroundTruth]) -> None:
    truth = demo_by_name["fade_text"]
    clips = [_clip(truth.path, s.start_frame, s.end_frame) for s in truth.shots]
    clips.append(_clip(truth.path, truth.shots[1].start_frame - 3, truth.shots[1].end_frame))  # snapped early
    stage = CaptionStage(CaptionsConfig())
    stage.setup()
    stage.process(list[Item](clips))
    for clip, shot in zip(clips, [*truth.shots, truth.shots[1]], strict=True):
        assert (clip.caption_image, clip.caption_video, clip.caption_summary) == (
            shot.caption_image, shot.caption_video, shot.caption_summary)
    assert "SALE 50%" in clips[0].caption_image


def test_no_sidecar_leaves_captions_empty_and_bad_one_quarantines(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.with_suffix(".json").write_text("[")
    stage = CaptionStage(CaptionsConfig())
    stage.setup()
    out = run_stage(stage, list[Item]([_clip(str(tmp_path / "none.mp4"), 0, 10), _clip(str(bad), 0, 10)]))
    assert out[0].kept and out[0].caption_summary == ""  # type: ignore[attr-defined]
    assert out[1].reason == "captions:bad_sidecar"


def test_backends_are_pluggable() -> None:
    class Constant:
        resources = Resources()

        def setup(self) -> None:
            pass

        def caption(self, clips: list[ClipItem]) -> list[Captions]:
            return [Captions("i", "v", "s") for _ in clips]

    register_backend("constant", Constant)
    assert "constant" in backend_names()
    stage = CaptionStage(CaptionsConfig(backend="constant"))
    stage.setup()
    clip = _clip("/x.mp4", 0, 5)
    stage.process([clip])
    assert (clip.caption_image, clip.caption_video, clip.caption_summary) == ("i", "v", "s")
    with pytest.raises(ValueError, match="unknown caption backend"):
        CaptionStage(CaptionsConfig(backend="nope"))
