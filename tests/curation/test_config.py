"""Tests of curation/config.py (named apart from tests/training/test_config.py: pytest's default
import mode needs unique basenames)."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest
import yaml

from curation.config import DEFAULT_CONFIG_PATH, CurationConfig, deep_merge, load_config


def test_defaults_come_from_the_yaml_file() -> None:
    data = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    config = load_config()
    assert config.filter.motion.drop_lowest == data["filter"]["motion"]["drop_lowest"]
    assert config.filter.text_area.max == data["filter"]["text_area"]["max"]
    assert config.cuts.detectors[0].threshold == data["cuts"]["detectors"][0]["threshold"]
    assert config.motion.short_side == data["motion"]["short_side"]
    assert config.split.min_clip_s == data["split"]["min_clip_s"]


def test_overrides_merge_deeply() -> None:
    config = load_config(overrides={"filter": {"motion": {"min": 2.5}, "aesthetic": {"drop_lowest": None}}})
    assert config.filter.motion.min == 2.5
    assert config.filter.motion.drop_lowest == load_config().filter.motion.drop_lowest
    assert config.filter.aesthetic.drop_lowest is None


def test_config_is_frozen_and_strict(tmp_path: Path) -> None:
    config = load_config()
    with pytest.raises(pydantic.ValidationError):
        config.filter.motion.min = 3.0  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError, match="typo"):
        load_config(overrides={"filter": {"typo": 1}})
    with pytest.raises(pydantic.ValidationError):
        load_config(overrides={"filter": {"motion": {"drop_lowest": 1.5}}})
    with pytest.raises(pydantic.ValidationError, match="drop_lowest"):  # the text filter removes the high end
        load_config(overrides={"filter": {"text_area": {"drop_lowest": 0.25}}})


def test_other_profile_file_and_missing_file(tmp_path: Path) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text("clip:\n  snap: after\n")
    assert load_config(profile).clip.snap == "after"
    assert load_config(profile).motion == CurationConfig().motion
    with pytest.raises(FileNotFoundError):
        load_config(tmp_path / "nope.yaml")


def test_deep_merge_does_not_mutate() -> None:
    base = {"a": {"b": 1, "c": 2}, "d": 3}
    assert deep_merge(base, {"a": {"b": 5}}) == {"a": {"b": 5, "c": 2}, "d": 3}
    assert base == {"a": {"b": 1, "c": 2}, "d": 3}


def test_clip_scores_are_unconfigured_by_default_and_a_head_needs_a_model() -> None:
    assert load_config().clip_scores.model == "" and load_config().clip_scores.aesthetic_head == ""
    config = load_config(overrides={"clip_scores": {"model": "s3://models/clip"}})
    assert config.clip_scores.model == "s3://models/clip" and config.clip_scores.aesthetic_head == ""
    with pytest.raises(pydantic.ValidationError, match="aesthetic_head"):
        load_config(overrides={"clip_scores": {"aesthetic_head": "s3://models/head"}})


def test_caption_models_are_unset_by_default_and_the_summary_prompt_needs_both_captions() -> None:
    captions = load_config().captions
    assert (captions.backend, captions.image.model, captions.video.model, captions.summary.model) == (
        "sidecar", "", "", "")
    assert captions == CurationConfig().captions  # the YAML and the code defaults agree
    config = load_config(overrides={"captions": {"summary": {"prompt": "{video} / {image}"}}})
    assert config.captions.summary.prompt.format(image="i", video="v") == "v / i"
    for prompt in ("summarize: {image}", "{image} {video} {other}"):
        with pytest.raises(pydantic.ValidationError, match="exactly"):
            load_config(overrides={"captions": {"summary": {"prompt": prompt}}})


def test_text_defaults_agree_with_the_yaml_and_a_rec_model_needs_recognition() -> None:
    text = load_config().text
    assert text == CurationConfig().text  # the YAML and the code defaults agree
    assert (text.recognize, text.det_model, text.rec_model) == (False, "", "")
    config = load_config(overrides={"text": {"recognize": True, "rec_model": "s3://models/ocr/rec.onnx"}})
    assert config.text.rec_model == "s3://models/ocr/rec.onnx"
    with pytest.raises(pydantic.ValidationError, match=r"text\.recognize is false"):
        load_config(overrides={"text": {"rec_model": "s3://models/ocr/rec.onnx"}})
    with pytest.raises(pydantic.ValidationError):
        load_config(overrides={"text": {"min_score": 1.5}})
