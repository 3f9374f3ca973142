import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vidforge.cli import COMMANDS, app


def test_help_lists_every_command_without_importing_heavy_packages() -> None:
    code = (
        "import sys; from typer.testing import CliRunner; from vidforge.cli import app;"
        "r = CliRunner().invoke(app, ['--help']); print(r.output);"
        "print('HEAVY', sorted(m for m in ('torch', 'diffusers', 'cv2', 'curation', 'training') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    for name in COMMANDS:
        assert name in out
    assert "HEAVY []" in out


def test_set_overrides_reach_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VIDFORGE_REGISTRY__MODEL_NAME", raising=False)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("log_level: WARNING\n")
    monkeypatch.setattr(sys, "argv", ["vidforge"])
    result = CliRunner().invoke(
        app, ["--config", str(cfg), "--set", "registry.model_name=m1", "registry", "--help"]
    )
    assert result.exit_code == 0, result.output
    assert os.environ["VIDFORGE_REGISTRY__MODEL_NAME"] == "m1"
    assert os.environ["VIDFORGE_CONFIG"] == str(cfg.resolve())
    monkeypatch.delenv("VIDFORGE_REGISTRY__MODEL_NAME")
    monkeypatch.delenv("VIDFORGE_CONFIG")


def test_malformed_set_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["--set", "oops", "registry", "--help"])
    assert result.exit_code == 2
    assert "key.sub=value" in result.output


def test_every_command_target_resolves() -> None:
    import importlib

    for name, (target, _) in COMMANDS.items():
        module, _, attr = target.partition(":")
        assert hasattr(importlib.import_module(module), attr), name
