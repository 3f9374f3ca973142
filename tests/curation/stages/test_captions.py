from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from curation.builders import build_stages
from curation.config import (
    CaptionModelConfig,
    CaptionsConfig,
    FramesConfig,
    MotionConfig,
    SummaryModelConfig,
    load_config,
)
from curation.items import ClipItem, Item
from curation.media.frames import KEY, SAMPLED, decode_clip_frames
from curation.models.captioners import ImageCaptioner, VideoCaptioner, load_caption_models, merge_captions
from curation.runner import frames_last_used, run_stage
from curation.stages.base import Resources
from curation.stages.captions import Captions, CaptionStage, TransformersBackend, backend_names, register_backend
from curation.synthetic import GroundTruth, write_corrupt
from tests.support.tiny_captioners import save_tiny_blip, save_tiny_git, save_tiny_t5
from vidforge.store import LocalStore


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
        uses_frames = False

        def setup(self) -> None:
            pass

        def caption(self, clips: list[ClipItem]) -> list[Captions]:
            return [Captions("i", "v", "s") for _ in clips]

    register_backend("constant", lambda *_: Constant())
    assert "constant" in backend_names()
    stage = CaptionStage(CaptionsConfig(backend="constant"))
    stage.setup()
    clip = _clip("/x.mp4", 0, 5)
    stage.process([clip])
    assert (clip.caption_image, clip.caption_video, clip.caption_summary) == ("i", "v", "s")
    with pytest.raises(ValueError, match="unknown caption backend"):
        CaptionStage(CaptionsConfig(backend="nope"))


# --- the transformers backend (tiny random models, see tests/support/tiny_captioners.py) ---

FRAMES = FramesConfig(video_frames=6)
GEN = CaptionModelConfig(max_new_tokens=6)


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Expected captions computed with the backend's thread count (``captions.threads: 1``), like for like."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("captioners")
    save_tiny_blip(root / "blip")
    save_tiny_git(root / "git")
    save_tiny_t5(root / "t5")
    return {name: str(root / name) for name in ("blip", "git", "t5")}


def _transformers(models: dict[str, str], image: bool = True, video: bool = True, summary: bool = True,
                  batch_size: int = 3) -> CaptionsConfig:
    return CaptionsConfig(
        backend="transformers", batch_size=batch_size,
        image=GEN.model_copy(update={"model": models["blip"] if image else ""}),
        video=GEN.model_copy(update={"model": models["git"] if video else ""}),
        summary=SummaryModelConfig(model=models["t5"] if summary else "", max_new_tokens=6))


def _whole(truth: GroundTruth) -> ClipItem:
    """A clip item whose written clip is the whole synthetic video (its sidecar stays next to it)."""
    return ClipItem(clip_id=Path(truth.path).stem, source_id="s", source_uri="", source_path=truth.path,
                    span_start=0, span_end=truth.num_frames, fps=float(truth.fps), width=truth.width,
                    height=truth.height, start_frame=0, end_frame=truth.num_frames, clip_path=truth.path)


def _chunked(fn: Callable[[list[Any]], list[str]], inputs: list[Any], size: int) -> list[str]:
    return [out for i in range(0, len(inputs), size) for out in fn(inputs[i : i + size])]


@pytest.mark.usefixtures("one_thread")
def test_transformers_backend_captions_synthetic_clips_with_the_configured_models(
    tiny_models: dict[str, str], demo_suite: list[GroundTruth]
) -> None:
    config = _transformers(tiny_models)
    stage = CaptionStage(config, FRAMES)
    assert stage.uses_frames and stage.resources == Resources(cpus=1.0)
    assert CaptionStage(config.model_copy(update={"device": "cuda"})).resources.gpus == 1.0
    stage.setup()
    clips = [_whole(t) for t in demo_suite]
    out = run_stage(stage, list[Item](clips))
    assert all(c.kept for c in out)
    # What the stage wrote is what each model gives on the clip's own frames, in the same batches.
    models = load_caption_models(config)
    assert models.image is not None and models.video is not None and models.summary is not None
    decoded = [decode_clip_frames(c.clip_path, c.fps, FRAMES, frozenset({KEY, SAMPLED})) for c in clips]
    images = _chunked(models.image, [f.key["middle"] for f in decoded], 3)
    videos = _chunked(models.video, [f.sampled for f in decoded], 3)
    summaries = _chunked(models.summary, list(zip(images, videos, strict=True)), 3)
    assert [(c.caption_image, c.caption_video, c.caption_summary) for c in clips] == list(
        zip(images, videos, summaries, strict=True))
    assert images != _chunked(models.image, [f.key["first"] for f in decoded], 3)  # the middle frame matters
    assert all(isinstance(s, str) for s in images + videos + summaries)
    # A fresh worker (models loaded again) writes the same captions.
    again = CaptionStage(config, FRAMES)
    again.setup()
    copies = [_whole(t) for t in demo_suite]
    again.process(list[Item](copies))
    assert [(c.caption_image, c.caption_video, c.caption_summary) for c in copies] == [
        (c.caption_image, c.caption_video, c.caption_summary) for c in clips]


@pytest.mark.usefixtures("one_thread")
def test_transformers_backend_reads_the_frames_stage_output(
    tiny_models: dict[str, str], demo_by_name: dict[str, GroundTruth]
) -> None:
    stage = CaptionStage(_transformers(tiny_models, video=False, summary=False), FRAMES)
    stage.setup()
    clip = _whole(demo_by_name["cuts"])
    clip.frames = decode_clip_frames(clip.clip_path, clip.fps, FRAMES, motion=MotionConfig())
    clip.frames.key["middle"] = clip.frames.key["first"]  # what the frames stage handed over is what is read
    stage.process([clip])
    captioner = ImageCaptioner.from_pretrained(tiny_models["blip"], GEN)
    assert clip.caption_image == captioner([clip.frames.key["first"]])[0]


@pytest.mark.parametrize("mode", ["truncated", "no_frames"])  # does not open | no frame decodes
def test_broken_clip_is_quarantined_and_the_batch_goes_on(
    tiny_models: dict[str, str], demo_by_name: dict[str, GroundTruth], tmp_path: Path, mode: str
) -> None:
    stage = CaptionStage(_transformers(tiny_models), FRAMES)
    stage.setup()
    good = _whole(demo_by_name["fast"])
    bad = _whole(demo_by_name["fast"])
    bad.clip_id, bad.clip_path = "bad", str(write_corrupt(tmp_path / "bad.mp4", mode))
    out = run_stage(stage, list[Item]([bad, good]))
    assert out[0].reason == "captions:decode_failed" and not out[0].kept
    assert out[1].kept and good.caption_image


@pytest.mark.usefixtures("one_thread")
def test_a_role_without_a_model_takes_the_sidecar_and_the_summary_the_merge_rule(
    tiny_models: dict[str, str], demo_by_name: dict[str, GroundTruth]
) -> None:
    truth = demo_by_name["fade_text"]
    shot = max(truth.shots, key=lambda s: s.end_frame - s.start_frame)
    stage = CaptionStage(_transformers(tiny_models, image=False, summary=False), FRAMES)
    stage.setup()
    clip = _whole(truth)
    stage.process([clip])
    video = VideoCaptioner.from_pretrained(tiny_models["git"], GEN)
    sampled = decode_clip_frames(clip.clip_path, clip.fps, FRAMES, frozenset({SAMPLED})).sampled
    assert clip.caption_image == shot.caption_image
    assert clip.caption_video == video([sampled])[0]
    assert clip.caption_summary == merge_captions(shot.caption_image, clip.caption_video)


def test_sidecar_stays_the_default_and_reads_no_frames(tmp_path: Path) -> None:
    assert CaptionsConfig().backend == load_config().captions.backend == "sidecar"
    assert load_config().captions == CaptionsConfig()
    default = build_stages(load_config(), tmp_path, LocalStore(tmp_path / "s"), "datasets/x/v1")
    sidecar = next(s for s in default if isinstance(s, CaptionStage))
    assert not sidecar.uses_frames and default.index(sidecar) > frames_last_used(default)
    config = load_config(overrides={"captions": {"backend": "transformers", "image": {"model": "/m"}}})
    store = LocalStore(tmp_path / "s")
    stages = build_stages(config, tmp_path, store, "datasets/x/v1")
    captions = next(s for s in stages if isinstance(s, CaptionStage))
    assert stages[frames_last_used(stages)] is captions
    backend = captions.backend
    assert isinstance(backend, TransformersBackend)
    assert (backend.frames, backend.store) == (config.frames, store.settings())
    copy = pickle.loads(pickle.dumps(captions))  # travels to a Ray worker before setup()
    assert copy.uses_frames and copy.backend.config == config.captions


@pytest.mark.usefixtures("one_thread")
def test_built_pipeline_captions_its_written_clips_with_the_models(
    tiny_models: dict[str, str], demo_by_name: dict[str, GroundTruth], tmp_path: Path
) -> None:
    from curation.pipeline import source_items
    from curation.runner import SequentialRunner

    config = load_config(overrides={"captions": _transformers(tiny_models, batch_size=1).model_dump(mode="json")})
    built = build_stages(config, tmp_path / "work", LocalStore(tmp_path / "store"), "datasets/caps/v1")
    stages = [s for s in built if s.name in ("probe", "split", "clip", "frames", "captions")]
    items = SequentialRunner(batch_size=4).run(stages, list(source_items([demo_by_name["cuts"].path], tmp_path)))
    clips = [it for it in items if isinstance(it, ClipItem) and it.kept]
    assert len(clips) >= 3 and all(c.frames is None for c in clips)  # released after the captions stage
    models = load_caption_models(config.captions)
    assert models.image is not None and models.video is not None and models.summary is not None
    for clip in clips:
        frames = decode_clip_frames(clip.clip_path, clip.fps, config.frames, frozenset({KEY, SAMPLED}))
        image, video = models.image([frames.key["middle"]])[0], models.video([frames.sampled])[0]
        assert (clip.caption_image, clip.caption_video, clip.caption_summary) == (
            image, video, models.summary([(image, video)])[0])
