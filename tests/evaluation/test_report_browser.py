"""The report in Debian's headless chromium: previews decode and play, the verdict is shown.

Writes a screenshot to ``$VIDFORGE_SCREENSHOT_DIR`` (default: the test's tmp dir) as ``eval-report.png``.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.evaluation.report_fixture import render
from tests.services.registry.test_pages_browser import chromium_or_skip


def test_report_previews_and_verdict_render_in_chromium(tmp_path: Path) -> None:
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    page_path = tmp_path / "report.html"
    page_path.write_text(render(tmp_path))
    shot = Path(os.environ.get("VIDFORGE_SCREENSHOT_DIR", tmp_path)) / "eval-report.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_path.as_uri())
        page.wait_for_load_state("load")
        verdict = page.locator("#verdict")
        assert verdict.is_visible() and "GATE PASSED" in verdict.inner_text()
        sizes = page.eval_on_selector_all(
            "img.video", "els => els.map(e => [e.complete, e.naturalWidth, e.naturalHeight, e.classList[2]])")
        assert len(sizes) == 6 and all(done and w > 0 and h > 0 for done, w, h, _ in sizes)
        assert {s[3] for s in sizes} == {"reference", "candidate", "champion"}
        assert page.locator("#gate tr").count() >= 10 and page.locator("#metrics").is_visible()
        assert all(u.startswith(("file:", "data:")) for u in requests)
        page.locator("h2", has_text="Gate").scroll_into_view_if_needed()
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert shot.stat().st_size > 10_000
