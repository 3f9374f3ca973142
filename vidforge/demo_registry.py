"""The demo's registry identities and its human approval, done the way a team does them.

The demo creates (once, then reuses) four tokens with ``vidforge registry token
create``: ``demo-admin`` (the first admin, bootstrapped from database access),
``demo-pipeline`` (the identity the DAG tasks act as; the approver role lets it
move ``production`` once someone else approved), ``demo-reviewer`` (the
stakeholder) and ``demo-serving`` (a viewer: the generation service resolves the
production alias over the registry API with it); and one serving token with
``vidforge serving token create``: ``demo-client`` (jobs:submit, jobs:read), the
downstream caller of the job API. They are kept in ``<home>/demo-tokens.json``
(mode 0600). While the evaluate/promote DAG waits for an approval, the reviewer
approves the candidate over the registry's HTTP API, as a person would on its pages,
and then answers the DAG's human-in-the-loop step (recorded in the registry's audit as an
Airflow review).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from vidforge.demo_steps import DemoContext

ROLES = {"demo-pipeline": "approver", "demo-reviewer": "approver", "demo-serving": "viewer"}
SERVING_CLIENT = "demo-client"


def _registry_cli(ctx: DemoContext, args: list[str], token: str = "", group: str = "registry") -> str:
    from vidforge.demo_steps import _bin

    env = {**ctx.env, "VIDFORGE_REGISTRY__TOKEN": token}
    done = subprocess.run([_bin("vidforge"), group, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"vidforge {group} {' '.join(args[:2])} failed: {done.stderr.strip()}")
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def ensure_identities(ctx: DemoContext, console: Console) -> dict[str, str]:
    """The demo's tokens by name (created on the first run); sets the pipeline's token in ``ctx.env``."""
    path = Path(ctx.settings.home) / "demo-tokens.json"
    _registry_cli(ctx, ["upgrade"])
    tokens: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    if "demo-admin" not in tokens:
        tokens["demo-admin"] = _registry_cli(ctx, ["token", "create", "--name", "demo-admin", "--role", "admin"])
    for name, role in ROLES.items():
        if name not in tokens:
            tokens[name] = _registry_cli(ctx, ["token", "create", "--name", name, "--role", role],
                                         tokens["demo-admin"])
    if SERVING_CLIENT not in tokens:
        tokens[SERVING_CLIENT] = _registry_cli(
            ctx, ["token", "create", "--name", SERVING_CLIENT, "--scopes", "jobs:submit,jobs:read"], group="serving")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(tokens, indent=2))
    os.chmod(path, 0o600)
    ctx.env["VIDFORGE_REGISTRY__TOKEN"] = tokens["demo-pipeline"]
    console.print(f"  registry identities: demo-pipeline (approver), demo-reviewer (approver), demo-serving (viewer); "
                  f"serving caller: {SERVING_CLIENT}; tokens in {path}")
    return tokens


@contextmanager
def registry_server(ctx: DemoContext, log_name: str) -> Iterator[str]:
    """``vidforge registry serve`` on a free loopback port for the block; yields its base URL."""
    import httpx

    from vidforge.demo_steps import _bin, _free_port, _wait

    port = _free_port()
    log = (ctx.out_dir / "logs" / log_name).open("w")
    server = subprocess.Popen([_bin("vidforge"), "registry", "serve", "--port", str(port)], env=ctx.env,
                              stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: httpx.get(f"{base}/healthz", timeout=2).status_code == 200, 60, server)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def approve_as_reviewer(ctx: DemoContext, console: Console, dag: subprocess.Popen[bytes], reviewer: str,
                        timeout_s: float = 900) -> dict[str, Any] | None:
    """Start the registry service, wait until the DAG registered this run, approve it as the reviewer.

    Returns the approval (None when the gate failed: nothing to approve). The DAG process
    ``dag`` keeps running; its approval step sees the decision on its next poke.
    """
    import httpx

    headers = {"Authorization": f"Bearer {reviewer}"}
    model = ctx.settings.registry.model_name
    with registry_server(ctx, "registry.log") as base:
        found: dict[str, Any] = {}

        def registered() -> bool:
            if dag.poll() is not None:
                return True
            r = httpx.get(f"{base}/api/models/{model}/versions", headers=headers, timeout=5)
            mine = [v for v in r.json() if v["run_id"] == ctx.run_id] if r.status_code == 200 else []
            found.update(mine[0] if mine else {})
            return bool(mine)

        deadline = time.monotonic() + timeout_s
        while not registered() and time.monotonic() < deadline:
            time.sleep(1)
        if not found or not found["gate_passed"]:
            return None
        url = f"{base}/api/models/{model}/versions/{found['version']}/approvals"
        r = httpx.post(url, headers=headers, timeout=10,
                       json={"decision": "approved", "comment": "demo: report read, gate passed"})
        r.raise_for_status()
        console.print(f"  [green]✓[/green] {model} v{found['version']} approved by demo-reviewer over the registry API "
                      f"(registered by {found['created_by']})")
        answer_approval_step(ctx, dag, "Approve", "demo-reviewer")
        console.print("  [green]✓[/green] the DAG's approval step answered 'Approve' as demo-reviewer")
        return dict(r.json())


def answer_approval_step(ctx: DemoContext, dag: subprocess.Popen[bytes], option: str, user: str,
                         timeout_s: float = 300) -> None:
    """Wait until the DAG's ``approval`` step awaits input, then answer it (see :mod:`vidforge.demo_hitl`)."""
    import sys

    deadline = time.monotonic() + timeout_s
    argv = [sys.executable, "-m", "vidforge.demo_hitl", "vidforge_evaluate_promote", "approval", option, user]
    while time.monotonic() < deadline and dag.poll() is None:
        done = subprocess.run(argv, env=ctx.env, capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return
        if done.returncode != 3:
            raise RuntimeError(f"answering the approval step failed: {done.stderr.strip()[-2000:]}")
        time.sleep(2)
    raise TimeoutError("the evaluate/promote DAG never reached its approval step")
