"""The stakeholder pages in a real headless browser: log in, review, promote, see the alias move.

The registry runs with uvicorn on a free loopback port (a SQLite database and a
local object store under the test's tmp dir); Debian's ``chromium`` is driven
through Playwright. Screenshots of each step land in the test's tmp dir, and
the last one also at :data:`FINAL_SCREENSHOT`. Without chromium the test is
skipped, except under ``CI=true``, where it fails.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import uvicorn

from services.registry.api import create_app
from services.registry.db import upgrade
from services.registry.store import RegistryPolicy, RegistryStore
from vidforge.settings import Settings, get_settings
from vidforge.store import open_store

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 1280, "height": 900}
FINAL_SCREENSHOT = Path("/tmp/registry-version-page.png")
MODEL = "vidforge-i2v"
REPORT = """<!doctype html><html><head><meta charset="utf-8"><style>
body {{ font-family: sans-serif; margin: 1rem; }} td, th {{ border: 1px solid #ccc; padding: .2rem .5rem; }}
</style></head><body>
<h1>Evaluation report: {model} v{version}</h1>
<table><tr><th>metric</th><th>value</th></tr>{rows}</table>
<p id="scripted">scripts are off</p>
<script>document.getElementById("scripted").textContent = "SCRIPT RAN";</script>
</body></html>"""
"""A generated report, with a script that must not run (the report is served sandboxed)."""


def chromium_or_skip() -> str:
    """The chromium executable; skip without one, but fail under ``CI=true`` (the browser test must run there)."""
    found = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    if found:
        return found
    message = f"no chromium at {CHROMIUM} or on PATH (apt-get install chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@dataclass(frozen=True)
class Registry:
    """A running registry: its base URL, settings and one token per role name."""

    url: str
    settings: Settings
    tokens: dict[str, str]


def make_tokens(settings: Settings) -> dict[str, str]:
    """An admin token, then an operator and an approver made by it: name → value."""
    store = RegistryStore(settings.registry.db_url, RegistryPolicy.from_settings(settings))
    try:
        _, admin = store.create_token("admin", "admin", None)
        root = store.resolve_token(admin)
        assert root is not None
        made = {"admin": admin}
        for name in ("operator", "approver"):
            made[name] = store.create_token(name, name, root)[1]
        return made
    finally:
        store.dispose()


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    """The registry app served by uvicorn in a thread, on a socket bound to a free loopback port."""
    home = tmp_path / "home"
    db_url = f"sqlite:///{tmp_path / 'registry.db'}"
    settings = get_settings(overrides={"home": str(home), "registry": {"db_url": db_url}})
    upgrade(db_url)
    tokens = make_tokens(settings)
    server = uvicorn.Server(uvicorn.Config(create_app(settings, dispatch_webhooks=False), log_level="warning"))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield Registry(f"http://127.0.0.1:{sock.getsockname()[1]}", settings, tokens)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def register_candidate(registry: Registry, version: int, **changes: Any) -> None:
    """As the operator, through the API: version ``version`` of MODEL with a report and a data card.

    By default its gate passed; ``changes`` replace fields of the request body.
    """
    store = open_store(registry.settings.store)
    body: dict[str, Any] = {
        "sha256": f"{version:02d}" * 32, "metrics": {"fvd": 412.5, "clip_score": 0.287}, "gate_passed": True,
        "gate_checks": [
            {"rule": "fvd <= 500", "metric": "fvd", "value": 412.5, "limit": 500.0, "passed": True},
            {"rule": "clip_score >= 0.25", "metric": "clip_score", "value": 0.287, "limit": 0.25, "passed": True},
        ],
        "dataset_version": "demo-v3", "dataset_uri": store.uri("datasets/demo/v3"), "run_id": f"train-run-{version}",
        "dag_run_id": f"manual__2024-05-0{version}", "code_version": "42fda05",
        "description": "image-to-video, 14 frames", **changes,
    }
    body["artifact_uri"] = store.uri(f"models/{MODEL}/{body['run_id']}")
    rows = "".join(f"<tr><td>{k}</td><td>{v:g}</td></tr>" for k, v in sorted(body["metrics"].items()))
    report = REPORT.format(model=MODEL, version=version, rows=rows)
    body["report_uri"] = store.put_bytes(f"reports/{MODEL}/{version}/report.html", report.encode())
    store.put_bytes("datasets/demo/v3/datacard.html", b"<h1>Data card: demo v3</h1>")
    made = httpx.post(f"{registry.url}/api/models/{MODEL}/versions", json=body,
                      headers={"Authorization": f"Bearer {registry.tokens['operator']}"})
    assert made.status_code == 201, made.text
    assert made.json()["version"] == version


def whole_page(page: Page, path: Path) -> None:
    """A screenshot of the whole page, the report frame included.

    Chromium leaves an off-screen out-of-process iframe (the sandboxed report is
    one) blank in ``full_page`` screenshots, so the viewport is grown to the
    page's height for the shot instead.
    """
    height = int(page.evaluate("document.documentElement.scrollHeight"))
    page.set_viewport_size({"width": VIEWPORT["width"], "height": max(height, VIEWPORT["height"])})
    try:
        if page.locator("iframe.report").count():
            page.frame_locator("iframe.report").locator("h1").wait_for(state="visible")
        page.screenshot(path=path)
    finally:
        page.set_viewport_size(VIEWPORT)


def test_review_and_promote_in_a_browser(registry: Registry, tmp_path: Path) -> None:
    executable = chromium_or_skip()
    from playwright.sync_api import expect, sync_playwright

    register_candidate(registry, 1)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(15_000)

            page.goto(f"{registry.url}/models/{MODEL}")
            expect(page).to_have_url(f"{registry.url}/login?next=/models/{MODEL}")
            page.fill("#token", registry.tokens["approver"])
            page.screenshot(path=shots / "1-login.png")
            page.get_by_role("button", name="Sign in").click()
            expect(page).to_have_url(f"{registry.url}/models/{MODEL}")
            expect(page.locator("header")).to_contain_text("signed in as approver (approver)")
            whole_page(page, shots / "2-model.png")

            page.locator("#v1").get_by_role("link", name="v1").click()
            expect(page.locator("h1")).to_contain_text(f"{MODEL} v1")
            report = page.frame_locator("iframe.report")
            expect(report.locator("h1")).to_have_text(f"Evaluation report: {MODEL} v1")
            expect(report.locator("h1")).to_be_visible()
            expect(report.locator("#scripted")).to_have_text("scripts are off")  # the report's script never ran
            expect(page.locator(".notice.warn")).to_contain_text("no approval by an identity other than")
            whole_page(page, shots / "3-version.png")

            page.fill("#approve-comment", "FVD well under the limit; clips look right.")
            page.get_by_role("button", name="Approve v1").click()
            expect(page.locator(".flash.ok")).to_have_text(f"Recorded: approver approved {MODEL} v1.")
            expect(page.locator(".notice.ok")).to_contain_text("Promotable")
            whole_page(page, shots / "4-approved.png")

            page.get_by_role("button", name="Promote v1 to production").click()
            expect(page.locator(".flash.ok")).to_have_text(f"{MODEL}:production now points at v1.")

            page.get_by_role("navigation").get_by_role("link", name="Models").click()
            expect(page.locator("tbody tr").first).to_contain_text("production → v1")
            whole_page(page, shots / "5-models.png")
            page.get_by_role("link", name=MODEL, exact=True).click()
            expect(page.locator("#v1")).to_contain_text("production")
            whole_page(page, shots / "6-model-promoted.png")

            page.get_by_role("navigation").get_by_role("link", name="Audit log").click()
            expect(page.locator(".chain")).to_have_text(re.compile(r"chain intact: \d+ records, head [0-9a-f]{12}"))
            expect(page.locator("tbody tr").first).to_contain_text("set_alias")
            whole_page(page, shots / "7-audit.png")

            failed = [{"rule": "fvd <= 500", "metric": "fvd", "value": 530.0, "limit": 500.0, "passed": False}]
            register_candidate(registry, 2, gate_passed=False, gate_checks=failed, parent_version=1,
                               metrics={"fvd": 530.0, "clip_score": 0.29})
            page.goto(f"{registry.url}/models/{MODEL}/versions/2")
            expect(page.locator("thead").first).to_contain_text("champion v1")
            page.get_by_role("button", name="Promote v2 to production").click()
            expect(page.locator(".flash.error")).to_contain_text("its evaluation gate failed")
            whole_page(page, shots / "8-candidate-refused.png")

            page.goto(f"{registry.url}/models/{MODEL}")

            page.locator("#v1").get_by_role("link", name="v1").click()
            expect(page.locator("h1")).to_contain_text("production")
            expect(page.frame_locator("iframe.report").locator("h1")).to_be_visible()
            whole_page(page, shots / "9-version-promoted.png")
        finally:
            browser.close()
    shutil.copyfile(shots / "9-version-promoted.png", FINAL_SCREENSHOT)
    assert all((shots / f).stat().st_size > 10_000 for f in os.listdir(shots))
