"""The `vidforge registry` typer app, driven through typer's CliRunner."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.registry.cli import app
from services.registry.store import RegistryStore

SHA = "78" * 32


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment pointing the CLI's settings at a fresh SQLite registry."""
    monkeypatch.delenv("VIDFORGE_CONFIG", raising=False)
    return {
        "VIDFORGE_HOME": str(tmp_path / "home"),
        "VIDFORGE_REGISTRY__DB_URL": f"sqlite:///{tmp_path}/registry.db",
        "COLUMNS": "200",
    }


def test_commands_end_to_end(env: dict[str, str]) -> None:
    runner = CliRunner()
    upgraded = runner.invoke(app, ["upgrade"], env=env)
    assert upgraded.exit_code == 0, upgraded.output
    assert "revision" in upgraded.output
    store = RegistryStore(env["VIDFORGE_REGISTRY__DB_URL"])
    store.create_version("vidforge-i2v", artifact_uri="s3://b/1", sha256=SHA, metrics={"fvd": 12.5})
    store.create_version("vidforge-i2v", artifact_uri="s3://b/2", sha256=SHA, parent_version=1, run_id="run-2")
    store.dispose()

    moved = runner.invoke(app, ["set-alias", "vidforge-i2v", "production", "2", "--actor", "ops"], env=env)
    assert moved.exit_code == 0, moved.output
    approved = runner.invoke(
        app,
        ["approve", "vidforge-i2v", "2", "--approver", "alice", "--decision", "approved", "--comment", "lgtm"],
        env=env,
    )
    assert approved.exit_code == 0, approved.output

    models = runner.invoke(app, ["models"], env=env).output
    assert "vidforge-i2v" in models and "production→v2" in models
    versions = runner.invoke(app, ["versions", "vidforge-i2v"], env=env).output
    assert "fvd=12.5" in versions and "run-2" in versions
    shown = runner.invoke(app, ["show", "vidforge-i2v", "2"], env=env)
    assert shown.exit_code == 0, shown.output
    for needle in ("lineage", "alice", "lgtm", "s3://b/2", "production"):
        assert needle in shown.output
    audit = runner.invoke(app, ["audit", "vidforge-i2v"], env=env).output
    assert "add_approval" in audit and "set_alias" in audit


def test_errors_exit_1_with_a_message(env: dict[str, str]) -> None:
    runner = CliRunner()
    not_migrated = runner.invoke(app, ["models"], env=env)
    assert not_migrated.exit_code == 1
    assert "vidforge registry upgrade" in not_migrated.output
    runner.invoke(app, ["upgrade"], env=env)
    missing = runner.invoke(app, ["show", "nope", "1"], env=env)
    assert missing.exit_code == 1
    assert "not_found" in missing.output
    bad = runner.invoke(app, ["approve", "nope", "1", "--approver", "a", "--decision", "maybe"], env=env)
    assert bad.exit_code == 1
    assert "invalid_input" in bad.output
