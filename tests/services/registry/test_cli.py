"""The `vidforge registry` typer app, driven through typer's CliRunner."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.registry.cli import app
from services.registry.store import RegistryPolicy, RegistryStore

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


def _token(runner: CliRunner, env: dict[str, str], name: str, role: str, as_token: str = "") -> str:
    made = runner.invoke(app, ["token", "create", "--name", name, "--role", role],
                         env={**env, "VIDFORGE_REGISTRY__TOKEN": as_token})
    assert made.exit_code == 0, made.output
    return made.stdout.strip().splitlines()[-1]


def test_commands_end_to_end(env: dict[str, str]) -> None:
    runner = CliRunner()
    upgraded = runner.invoke(app, ["upgrade"], env=env)
    assert upgraded.exit_code == 0, upgraded.output
    assert "revision" in upgraded.output
    admin = _token(runner, env, "admin", "admin")
    assert admin.startswith("vf_")
    refused = runner.invoke(app, ["token", "create", "--name", "sneaky", "--role", "admin"], env=env)
    assert refused.exit_code == 1 and "only the first admin token" in refused.output
    ops, alice = _token(runner, env, "ops", "operator", admin), _token(runner, env, "alice", "approver", admin)
    store = RegistryStore(env["VIDFORGE_REGISTRY__DB_URL"], RegistryPolicy(("s3://b",)))
    ops_principal = store.resolve_token(ops)
    assert ops_principal is not None
    store.create_version("vidforge-i2v", ops_principal, artifact_uri="s3://b/1", sha256=SHA, metrics={"fvd": 12.5})
    store.create_version("vidforge-i2v", ops_principal, artifact_uri="s3://b/2", sha256=SHA, parent_version=1,
                         run_id="run-2", gate_passed=True)
    store.dispose()
    as_ops, as_alice = {**env, "VIDFORGE_REGISTRY__TOKEN": ops}, {**env, "VIDFORGE_REGISTRY__TOKEN": alice}

    early = runner.invoke(app, ["set-alias", "vidforge-i2v", "production", "2", "--expect", "none"], env=as_alice)
    assert early.exit_code == 1 and "rule_violation" in early.output and "no approval" in early.output
    approved = runner.invoke(app, ["approve", "vidforge-i2v", "2", "--comment", "lgtm"], env=as_alice)
    assert approved.exit_code == 0, approved.output
    low = runner.invoke(app, ["set-alias", "vidforge-i2v", "production", "2", "--expect", "none"], env=as_ops)
    assert low.exit_code == 1 and "forbidden" in low.output
    moved = runner.invoke(app, ["set-alias", "vidforge-i2v", "production", "2", "--expect", "none"], env=as_alice)
    assert moved.exit_code == 0, moved.output
    stale = runner.invoke(app, ["set-alias", "vidforge-i2v", "candidate", "1", "--expect", "3"], env=as_ops)
    assert stale.exit_code == 1 and "alias_conflict" in stale.output
    assert runner.invoke(app, ["tag", "vidforge-i2v", "2", "team", "video"], env=as_ops).exit_code == 0

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
    assert record["tags"] == {"team": "video"} and record["created_by"] == "ops"
    assert runner.invoke(app, ["show", "vidforge-i2v", "2"], env=env).exit_code == 0
    audit = json.loads(runner.invoke(app, ["audit", "log", "vidforge-i2v", "--json"], env=env).output)
    assert [(e["action"], e["actor"]) for e in audit][:3] == [("set_tag", "ops"), ("set_alias", "alice"),
                                                              ("add_approval", "alice")]
    verified = runner.invoke(app, ["audit", "verify"], env=env)
    assert verified.exit_code == 0 and "audit chain intact" in verified.output
    tokens = json.loads(runner.invoke(app, ["token", "list", "--json"], env={**env, "VIDFORGE_REGISTRY__TOKEN": admin})
                        .output)
    assert [t["name"] for t in tokens] == ["admin", "alice", "ops"]
    revoked = runner.invoke(app, ["token", "revoke", "ops"], env={**env, "VIDFORGE_REGISTRY__TOKEN": admin})
    assert revoked.exit_code == 0
    gone = runner.invoke(app, ["tag", "vidforge-i2v", "2", "team", "x"], env=as_ops)
    assert gone.exit_code == 1 and "unknown or revoked" in gone.output

    path = env["VIDFORGE_REGISTRY__DB_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE audit_events SET actor = 'mallory' WHERE id = 3")
    broken = runner.invoke(app, ["audit", "verify"], env=env)
    assert broken.exit_code == 1
    assert "audit chain broken at record 3: its content does not match its hash" in broken.output


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
    no_identity = runner.invoke(app, ["approve", "nope", "1", "--decision", "maybe"], env=env)
    assert no_identity.exit_code == 1
    assert "VIDFORGE_REGISTRY__TOKEN is empty" in no_identity.output
