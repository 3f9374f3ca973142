"""``vidforge serve`` loads the production model over the registry API; ``vidforge serving`` manages the rest."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from services.serving.cli import app
from vidforge.settings import Settings


def test_upgrade_tokens_and_cleanup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("VIDFORGE_CONFIG", "VIDFORGE_SERVING__DB_URL"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    env = {"VIDFORGE_HOME": str(tmp_path / "home"), "COLUMNS": "80"}

    def cli(*args: str) -> Any:
        return runner.invoke(app, list(args), env=env)

    assert "serving database at revision s0001" in cli("upgrade").stdout
    made = cli("token", "create", "--name", "app-1", "--scopes", "jobs:read")
    assert made.exit_code == 0 and made.stdout.strip().splitlines()[-1].startswith("vf_")
    assert "shown once" in made.stderr
    listed = json.loads(cli("token", "list", "--json").stdout)
    assert [(t["name"], t["scopes"]) for t in listed] == [("app-1", ["jobs:read"])]
    again = cli("token", "create", "--name", "app-1")
    assert again.exit_code == 1 and "token_exists" in again.stderr
    assert "revoked" in cli("token", "revoke", "app-1").stdout
    assert "orphans 0" in cli("cleanup").stdout


def test_the_core_cli_mounts_serving() -> None:
    from vidforge.cli import COMMANDS

    assert COMMANDS["serving"][0] == "services.serving.cli:app" and COMMANDS["serve"][0].startswith("services.serving")


@pytest.mark.slow  # a fresh interpreter imports torch + diffusers (~10-30 s)
def test_serve_loads_model_over_the_registry_api_and_shuts_down_cleanly(
    settings: Settings, live_registry: tuple[str, str], wait_for: Callable[..., None],
    spawn_server: Callable[..., Any], ok: Callable[[str], bool],
) -> None:
    with spawn_server("services.serving.cli:serve", settings, live_registry) as (proc, base):
        wait_for(lambda: ok(f"{base}/readyz"), timeout=90, what="serve() to become ready")
        ready = httpx.get(f"{base}/readyz").json()
        assert (ready["model_name"], ready["model_version"], ready["target_version"]) == ("vidforge-i2v", 1, 1)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
        output = proc.stdout.read().decode()
    assert '"event": "serving starts"' in output and '"event": "model swapped in"' in output
