"""Tests of curation/cli.py (named apart from tests/vidforge/test_cli.py: pytest's default
import mode needs unique basenames)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from curation.cli import run_curate, run_cuts, run_synth
from vidforge.store import LocalStore


def test_synth_cuts_and_curate_print_summaries(tmp_path: Path, bikes: Path, bikes_cuts: list[int]) -> None:
    console = Console(record=True, width=200)
    run_synth(tmp_path / "synth", seed=1, console=console)
    written = sorted(p.name for p in (tmp_path / "synth").glob("*.mp4"))
    assert "corrupt.mp4" in written and len(written) == 5
    assert run_cuts(bikes, console=console) == bikes_cuts
    info = run_curate([bikes, tmp_path / "synth" / "corrupt.mp4"], name="c", version="v1",
                      store=LocalStore(tmp_path / "store"), console=console)
    text = console.export_text()
    assert "cuts.mp4" in text and f"cut(s) at frames {bikes_cuts}" in text
    assert "removed by split:too_short" in text and "probe:unreadable" in text
    assert "clips kept" in text and str(info.clips_kept) in text


def test_commands_mount_on_the_top_level_cli(tmp_path: Path, bikes: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from vidforge.cli import app

    monkeypatch.setenv("VIDFORGE_HOME", str(tmp_path / "home"))
    runner = CliRunner()
    result = runner.invoke(app, ["cuts", str(bikes)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["curate", str(bikes), "--name", "cli", "--version", "v1"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "home" / "store" / "datasets" / "cli" / "v1" / "dataset.json").is_file()
