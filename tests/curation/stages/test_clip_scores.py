from __future__ import annotations

from pathlib import Path

import pytest
import torch

from curation.config import ClipScoresConfig, FramesConfig, MotionConfig
from curation.items import ClipItem, Item
from curation.media.frames import decode_clip_frames
from curation.models.clip_scorer import ClipScorer, load_clip_scorer
from curation.runner import run_stage
from curation.stages.clip_scores import ClipScoreStage, scoring_caption, skip_reasons
from curation.stages.frames import FramesStage
from curation.synthetic import ShotSpec, VideoSpec, write_corrupt, write_video
from tests.support.tiny_clip import save_tiny_clip, save_tiny_head


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> ClipScoresConfig:
    root = tmp_path_factory.mktemp("tiny-clip")
    return ClipScoresConfig(model=str(save_tiny_clip(root / "clip")), aesthetic_head=str(save_tiny_head(root / "head")))


@pytest.fixture(scope="module")
def scorer(config: ClipScoresConfig) -> ClipScorer:
    return load_clip_scorer(config.model, config.aesthetic_head)


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    root = tmp_path_factory.mktemp("videos")
    return [write_video(VideoSpec(shots=(ShotSpec(12, speed=2.0),), seed=seed), root / f"v{seed}.mp4").path
            for seed in (1, 2, 3)]


def _clip(path: str, name: str, image: str = "", video: str = "", summary: str = "") -> ClipItem:
    return ClipItem(clip_id=name, source_id="s", source_uri="", source_path=path, span_start=0, span_end=12,
                    fps=24.0, width=160, height=120, clip_path=path, caption_image=image, caption_video=video,
                    caption_summary=summary)


def _stage(config: ClipScoresConfig) -> ClipScoreStage:
    stage = ClipScoreStage(config)
    stage.setup()
    return stage


def _expected(scorer: ClipScorer, path: str, caption: str) -> tuple[float | None, float | None]:
    frames = decode_clip_frames(path, 24.0, FramesConfig(), frozenset({"key"}))
    [s] = scorer.score([frames.key_frames()], [caption])
    return s.aesthetic, s.similarity


def test_scoring_caption_prefers_summary_then_video_then_image() -> None:
    assert scoring_caption(_clip("", "a", "img", "vid", "sum")) == "sum"
    assert scoring_caption(_clip("", "b", "img", "vid")) == "vid"
    assert scoring_caption(_clip("", "c", "img")) == "img"
    assert scoring_caption(_clip("", "d")) == ""


def test_scores_the_key_frames_against_the_scoring_caption(config: ClipScoresConfig, scorer: ClipScorer,
                                                           videos: list[str]) -> None:
    clips = [_clip(videos[0], "a", "a red square", "it moves", "the square"),
             _clip(videos[1], "b", image="an ant"), _clip(videos[2], "c")]
    assert _stage(config).process(list[Item](clips)) == clips
    for clip, caption in zip(clips, ["the square", "an ant", ""], strict=True):
        aesthetic, similarity = _expected(scorer, clip.clip_path, caption)
        assert clip.aesthetic == pytest.approx(aesthetic, abs=1e-5)
        assert (clip.clip_similarity is None) == (similarity is None) == (caption == "")
        if similarity is not None:
            assert clip.clip_similarity == pytest.approx(similarity, abs=1e-5)
    assert clips[0].clip_similarity != pytest.approx(_expected(scorer, videos[0], "it moves")[1], abs=1e-5)
    assert len({c.aesthetic for c in clips}) == 3


def test_without_a_head_only_similarity_is_computed(config: ClipScoresConfig, videos: list[str]) -> None:
    clip = _clip(videos[0], "a", summary="the square")
    _stage(ClipScoresConfig(model=config.model)).process([clip])
    assert clip.aesthetic is None and clip.clip_similarity is not None


def test_uses_the_frames_stage_decode(config: ClipScoresConfig, videos: list[str], tmp_path: Path) -> None:
    path = tmp_path / "gone.mp4"
    path.write_bytes(Path(videos[1]).read_bytes())
    direct = _clip(str(path), "direct", summary="an ant")
    _stage(config).process([direct])
    clip = _clip(str(path), "shared", summary="an ant")
    FramesStage(FramesConfig(), MotionConfig()).process([clip])
    path.unlink()  # the clip file is gone: scores can only come from the frames stage's decode
    _stage(config).process([clip])
    assert (clip.aesthetic, clip.clip_similarity) == pytest.approx((direct.aesthetic, direct.clip_similarity), abs=1e-6)


def test_broken_clips_are_quarantined_and_the_rest_scored(config: ClipScoresConfig, videos: list[str],
                                                          tmp_path: Path) -> None:
    good = _clip(videos[0], "good", summary="x")
    no_frames = _clip(str(write_corrupt(tmp_path / "nf.mp4", mode="no_frames")), "nf")
    truncated = _clip(str(write_corrupt(tmp_path / "tr.mp4")), "tr")
    out = run_stage(_stage(config), list[Item]([good, no_frames, truncated]))
    assert out == [good, no_frames, truncated]
    for bad in (no_frames, truncated):  # reason: clip_scores:<the decoder's error code>
        assert not bad.kept and bad.reason.startswith("clip_scores:") and bad.error and bad.aesthetic is None
    assert good.kept and good.aesthetic is not None and good.clip_similarity is not None


def test_batching_and_threads_do_not_change_scores(config: ClipScoresConfig, videos: list[str]) -> None:
    def run(cfg: ClipScoresConfig) -> list[tuple[float | None, float | None]]:
        clips = [_clip(v, f"c{i}", summary=f"clip {i}") for i, v in enumerate(videos)]
        _stage(cfg).process(list[Item](clips))
        return [(c.aesthetic, c.clip_similarity) for c in clips]

    before = torch.get_num_threads()
    one = run(config.model_copy(update={"batch_size": 1, "threads": 1}))
    assert torch.get_num_threads() == before
    for got, want in zip(run(config.model_copy(update={"batch_size": 16, "threads": 2})), one, strict=True):
        assert got == pytest.approx(want, abs=1e-5)


def test_unconfigured_is_refused_and_skip_reasons_say_why() -> None:
    with pytest.raises(ValueError, match=r"clip_scores\.model"):
        ClipScoreStage(ClipScoresConfig())
    unset = "no CLIP model configured (clip_scores.model)"
    assert skip_reasons({}) == {"aesthetic": unset, "clip_similarity": unset}
    assert skip_reasons({"clip_scores": ClipScoresConfig().model_dump()}) == {"aesthetic": unset,
                                                                             "clip_similarity": unset}
    assert skip_reasons({"clip_scores": {"model": "s3://m/clip"}}) == {
        "aesthetic": "no aesthetic head configured (clip_scores.aesthetic_head)"}
    assert skip_reasons({"clip_scores": {"model": "s3://m/clip", "aesthetic_head": "s3://m/head"}}) == {}
