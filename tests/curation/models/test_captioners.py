from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from curation.config import CaptionModelConfig, CaptionsConfig, FramesConfig, SummaryModelConfig
from curation.media.frames import KEY, SAMPLED, ClipFrames, decode_clip_frames
from curation.models.captioners import (
    ImageCaptioner,
    Summariser,
    VideoCaptioner,
    load_caption_models,
    merge_captions,
    resample,
    resolve_model_dir,
)
from curation.synthetic import GroundTruth
from tests.support.tiny_captioners import (
    IMAGE_SIZE,
    VIDEO_FRAMES,
    save_tiny_bart,
    save_tiny_blip,
    save_tiny_git,
    save_tiny_t5,
    save_tiny_vit_bert,
)
from vidforge.settings import StoreSettings
from vidforge.store import ObjectStore, S3Store

GEN = CaptionModelConfig(max_new_tokens=6)


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # the configured default; far faster than oversubscribing shared CI cores
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def frames(demo_by_name: dict[str, GroundTruth]) -> ClipFrames:
    """Key frames and 6 sampled frames of a real synthetic video (a pan with text, then other shots)."""
    truth = demo_by_name["fade_text"]
    return decode_clip_frames(truth.path, truth.fps, FramesConfig(video_frames=6), frozenset({KEY, SAMPLED}))


def _git_image(path: Path) -> Any:
    return save_tiny_git(path, num_frames=None)


@pytest.mark.parametrize("save", [save_tiny_blip, _git_image, save_tiny_vit_bert], ids=["blip", "git", "vit_bert"])
def test_image_captioner_reloads_a_checkpoint_and_generates_like_the_saved_model(
    save: Callable[[Path], Any], tmp_path: Path, frames: ClipFrames
) -> None:
    model = save(tmp_path / "m")
    captioner = ImageCaptioner.from_pretrained(tmp_path / "m", GEN)
    images = frames.key_frames()
    inputs = captioner.inputs(images)
    assert inputs["pixel_values"].shape == (3, 3, IMAGE_SIZE, IMAGE_SIZE)
    with torch.inference_mode():
        expected = model.generate(**inputs, max_new_tokens=6, do_sample=False)
    assert torch.equal(captioner.generate_ids(inputs), expected)
    captions = captioner(images)
    assert captions == captioner.decode(expected) == captioner(images)  # and deterministic
    assert all(isinstance(c, str) for c in captions) and any(captions)
    assert captioner([]) == []


def test_image_captions_depend_on_the_image(tmp_path: Path, frames: ClipFrames) -> None:
    save_tiny_blip(tmp_path / "m")
    captioner = ImageCaptioner.from_pretrained(tmp_path / "m", GEN)
    first, middle, last = captioner(frames.key_frames())  # three different shots of the video
    assert len({first, middle, last}) > 1


@pytest.fixture
def store(any_store: ObjectStore) -> ObjectStore:
    return any_store


def test_models_load_from_a_store_uri_like_from_the_directory(store: ObjectStore, tmp_path: Path,
                                                              frames: ClipFrames) -> None:
    save_tiny_blip(tmp_path / "blip")
    save_tiny_git(tmp_path / "git")
    save_tiny_t5(tmp_path / "t5")
    uris = {name: store.put_dir(tmp_path / name, f"caption/{name}") for name in ("blip", "git", "t5")}
    settings = StoreSettings(s3_endpoint_url=store.endpoint_url) if isinstance(store, S3Store) else None
    config = CaptionsConfig(backend="transformers", image=GEN.model_copy(update={"model": uris["blip"]}),
                            video=GEN.model_copy(update={"model": uris["git"]}),
                            summary=SummaryModelConfig(model=uris["t5"], max_new_tokens=6))
    models = load_caption_models(config, settings)
    assert models.image is not None and models.video is not None and models.summary is not None
    assert models.image(frames.key_frames()) == ImageCaptioner.from_pretrained(tmp_path / "blip", GEN)(
        frames.key_frames())
    assert models.video([frames.sampled]) == VideoCaptioner.from_pretrained(tmp_path / "git", GEN)([frames.sampled])
    pair = [("red blobs", "a static shot")]
    assert models.summary(pair) == Summariser.from_pretrained(tmp_path / "t5", config.summary)(pair)


def test_missing_models_fail_and_unset_roles_load_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        resolve_model_dir(str(tmp_path / "none"), tmp_path)
    with pytest.raises(FileNotFoundError):
        load_caption_models(CaptionsConfig(image=CaptionModelConfig(model=(tmp_path / "none").as_uri())))
    models = load_caption_models(CaptionsConfig())
    assert (models.image, models.video, models.summary) == (None, None, None)


def _first_step_logits(model: Any, pixel_values: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return model(pixel_values=pixel_values, input_ids=torch.tensor([[2]])).logits[:, -1]


def test_video_captioner_feeds_each_resampled_frame_to_the_model(tmp_path: Path, frames: ClipFrames) -> None:
    model = save_tiny_git(tmp_path / "git")
    captioner = VideoCaptioner.from_pretrained(tmp_path / "git", GEN)
    video = frames.sampled
    assert captioner.num_frames == VIDEO_FRAMES and len(video) == 6
    pixels = captioner.video_inputs([video])["pixel_values"]
    assert pixels.shape == (1, VIDEO_FRAMES, 3, IMAGE_SIZE, IMAGE_SIZE)
    base = _first_step_logits(model, pixels)
    picked = [0, 2, 3, 5]  # 6 frames resampled to 4, centred in their segments
    assert [id(f) for f in resample(video, VIDEO_FRAMES)] == [id(video[i]) for i in picked]
    for slot, index in enumerate(picked):
        changed = list(video)
        changed[index] = 255 - video[index]
        new = captioner.video_inputs([changed])["pixel_values"]
        assert (new != pixels).flatten(2).any(-1)[0].tolist() == [s == slot for s in range(VIDEO_FRAMES)]
        assert not torch.allclose(_first_step_logits(model, new), base)
    with torch.inference_mode():
        expected = model.generate(pixel_values=pixels, max_new_tokens=6, do_sample=False)
    assert captioner([video]) == captioner.decode(expected) == captioner([video])


def test_video_captioner_batches_clips_of_any_length_and_needs_a_multi_frame_model(
    tmp_path: Path, frames: ClipFrames
) -> None:
    save_tiny_git(tmp_path / "git")
    captioner = VideoCaptioner.from_pretrained(tmp_path / "git", GEN)
    short = frames.sampled[:2]
    assert [id(f) for f in resample(short, 4)] == [id(short[i]) for i in (0, 0, 1, 1)]
    captions = captioner([frames.sampled, short, frames.sampled[:1]])
    assert len(captions) == 3 and all(isinstance(c, str) for c in captions)
    save_tiny_blip(tmp_path / "blip")
    with pytest.raises(ValueError, match="not a multi-frame video captioner"):
        VideoCaptioner.from_pretrained(tmp_path / "blip", GEN)
    with pytest.raises(ValueError, match="no frames"):
        resample([], 4)


def _encoder_logits(summariser: Summariser, pair: tuple[str, str]) -> torch.Tensor:
    with torch.inference_mode():
        return summariser.model(**summariser.inputs([pair]), decoder_input_ids=torch.tensor([[0]])).logits


@pytest.mark.parametrize("save", [save_tiny_t5, save_tiny_bart], ids=["t5", "bart"])
def test_summariser_is_prompted_with_both_captions(save: Callable[[Path], Any], tmp_path: Path) -> None:
    model = save(tmp_path / "m")
    summariser = Summariser.from_pretrained(tmp_path / "m", SummaryModelConfig(max_new_tokens=6))
    pair = ("red blobs and shapes", "a static shot")
    prompt = summariser.tokenizer.decode(summariser.inputs([pair])["input_ids"][0], skip_special_tokens=True)
    assert prompt == "summarize : image : red blobs and shapes video : a static shot"
    base = _encoder_logits(summariser, pair)
    for other in (("blue blobs and shapes", pair[1]), (pair[0], "a fast pan")):
        assert not torch.allclose(_encoder_logits(summariser, other), base)
    pairs = [pair, ("", ""), ("green shapes with the text 'hello'", "a slow pan")]
    summaries = summariser(pairs)
    assert summaries[1] == "" and all(isinstance(s, str) for s in summaries) and summaries == summariser(pairs)
    with torch.inference_mode():
        expected = model.generate(**summariser.inputs([pair]), max_new_tokens=6, do_sample=False)
    assert summariser([pair]) == summariser.decode(expected)


@pytest.mark.parametrize(("image", "video", "summary"), [
    ("red blobs", "a static shot", "a static shot. red blobs"),
    ("red blobs", "a static shot.", "a static shot. red blobs"),
    ("", "a static shot", "a static shot"),
    ("red blobs", "  ", "red blobs"),
    ("Red blobs", "red blobs panning left", "red blobs panning left"),
    ("a  red car on a road", "car", "a red car on a road"),
    ("", "", ""),
])
def test_merge_rule(image: str, video: str, summary: str) -> None:
    assert merge_captions(image, video) == summary


def test_generation_settings_reach_generate(tmp_path: Path, frames: ClipFrames) -> None:
    save_tiny_blip(tmp_path / "m")
    short = ImageCaptioner.from_pretrained(tmp_path / "m", CaptionModelConfig(max_new_tokens=2))
    beams = ImageCaptioner.from_pretrained(tmp_path / "m", CaptionModelConfig(max_new_tokens=2, num_beams=3))
    images = [np.asarray(frames.key["middle"])]
    assert short.generate_ids(short.inputs(images)).shape[1] <= 3  # BOS + at most 2 new tokens
    assert isinstance(beams(images)[0], str)


def test_dtype_setting_loads_weights_and_feeds_pixels_in_that_dtype(tmp_path: Path, frames: ClipFrames) -> None:
    save_tiny_blip(tmp_path / "blip")
    save_tiny_t5(tmp_path / "t5")
    config = CaptionsConfig(image=CaptionModelConfig(model=str(tmp_path / "blip"), max_new_tokens=3),
                            summary=SummaryModelConfig(model=str(tmp_path / "t5"), max_new_tokens=3), dtype="bfloat16")
    models = load_caption_models(config)
    assert models.image is not None and models.summary is not None
    assert models.image.model.dtype == models.summary.model.dtype == torch.bfloat16
    assert models.image.inputs(frames.key_frames())["pixel_values"].dtype == torch.bfloat16
    assert all(isinstance(c, str) for c in models.image(frames.key_frames()) + models.summary([("a", "b")]))
