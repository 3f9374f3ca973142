"""The `vidforge registry` typer app, driven through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.registry.cli import app
from services.registry.store import RegistryStore

SHA = "78" * 32


@pytest.fixture(params=["short", "long"])
def env(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment pointing the CLI's settings at a fresh SQLite registry.

    Run with the pytest temporary directory as it is and with a directory whose path
    is longer than the 80-column terminal, so no assertion can depend on where a
    line would wrap.
    """
    monkeypatch.delenv("VIDFORGE_CONFIG", raising=False)
    root = tmp_path if request.param == "short" else tmp_path / ("d" * 90) / ("e" * 90)
    root.mkdir(parents=True, exist_ok=True)
    return {
        "VIDFORGE_HOME": str(root / "home"),
        "VIDFORGE_REGISTRY__DB_URL": f"sqlite:///{root}/registry.db",
        "COLUMNS": "80",
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

    models = runner.invoke(app, ["models"], env=env)
    assert models.exit_code == 0 and "vidforge-i2v" in models.output  # the table, at any width
    listed = json.loads(runner.invoke(app, ["models", "--json"], env=env).output)
    assert [(m["name"], m["aliases"]) for m in listed] == [("vidforge-i2v", {"production": 2})]
    versions = json.loads(runner.invoke(app, ["versions", "vidforge-i2v", "--json"], env=env).output)
    assert [(v["version"], v["metrics"], v["run_id"]) for v in versions] == [(1, {"fvd": 12.5}, ""), (2, {}, "run-2")]
    shown = runner.invoke(app, ["show", "vidforge-i2v", "2", "--json"], env=env)
    assert shown.exit_code == 0, shown.output
    record = json.loads(shown.output)
    assert record["lineage"] == [2, 1] and record["artifact_uri"] == "s3://b/2" and record["aliases"] == ["production"]
    assert [(a["approver"], a["comment"]) for a in record["approvals"]] == [("alice", "lgtm")]
    assert runner.invoke(app, ["show", "vidforge-i2v", "2"], env=env).exit_code == 0
    audit = json.loads(runner.invoke(app, ["audit", "vidforge-i2v", "--json"], env=env).output)
    assert [e["action"] for e in audit][:2] == ["add_approval", "set_alias"]


def test_errors_exit_1_with_a_message(env: dict[str, str]) -> None:
    runner = CliRunner()
    not_migrated = runner.invoke(app, ["models"], env=env)
    assert not_migrated.exit_code == 1
    assert "run `vidforge registry upgrade`" in not_migrated.output
    assert env["VIDFORGE_REGISTRY__DB_URL"] in not_migrated.output  # the whole path, unbroken
    runner.invoke(app, ["upgrade"], env=env)
    missing = runner.invoke(app, ["show", "nope", "1"], env=env)
    assert missing.exit_code == 1
    assert "not_found" in missing.output
    bad = runner.invoke(app, ["approve", "nope", "1", "--approver", "a", "--decision", "maybe"], env=env)
    assert bad.exit_code == 1
    assert "invalid_input" in bad.output
