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
    assert config.filter.motion_drop_fraction == data["filter"]["motion_drop_fraction"]
    assert config.cuts.detectors[0].threshold == data["cuts"]["detectors"][0]["threshold"]
    assert config.motion.short_side == data["motion"]["short_side"]
    assert config.split.min_clip_s == data["split"]["min_clip_s"]


def test_overrides_merge_deeply() -> None:
    config = load_config(overrides={"filter": {"motion_min": 2.5}})
    assert config.filter.motion_min == 2.5
    assert config.filter.motion_drop_fraction == load_config().filter.motion_drop_fraction


def test_config_is_frozen_and_strict(tmp_path: Path) -> None:
    config = load_config()
    with pytest.raises(pydantic.ValidationError):
        config.filter.motion_min = 3.0  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError, match="typo"):
        load_config(overrides={"filter": {"typo": 1}})
    with pytest.raises(pydantic.ValidationError):
        load_config(overrides={"filter": {"motion_drop_fraction": 1.5}})


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
