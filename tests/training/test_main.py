"""The training process entry point's argument handling (training itself: test_trainer)."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.main import build_parser, main, parse_sets


def test_parse_sets_uses_yaml_values() -> None:
    assert parse_sets(["steps=4", "lr=3e-5", "ema_decay=null", "train_temporal=false", "name=x"]) == {
        "steps": 4, "lr": 3e-5, "ema_decay": None, "train_temporal": False, "name": "x",
    }
    with pytest.raises(ValueError, match="key=value"):
        parse_sets(["steps"])


def test_parser_requires_identity() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--stage", "stage1_image"])
    args = build_parser().parse_args(
        ["--stage", "s", "--run-id", "r", "--dataset", "d", "--dataset-version", "v", "--set", "a=1", "--set", "b=2"]
    )
    assert args.sets == ["a=1", "b=2"] and args.init is None


@pytest.mark.parametrize(
    "extra", [["--stage", "stage9"], ["--stage", "stage1_image", "--set", "steps=-1"]]
)
def test_bad_config_exits_2(extra: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDFORGE_HOME", str(tmp_path))
    argv = ["--run-id", "r", "--dataset", "d", "--dataset-version", "v", *extra]
    assert main(argv) == 2


def test_failed_stage_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDFORGE_HOME", str(tmp_path))
    argv = ["--stage", "stage1_image", "--run-id", "r", "--dataset", "nope", "--dataset-version", "v"]
    assert main(argv) == 1
