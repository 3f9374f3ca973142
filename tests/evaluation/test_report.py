import base64
import io
import re
from pathlib import Path

from PIL import Image

from tests.evaluation.report_fixture import render


def test_report_is_self_contained_with_animated_previews(tmp_path: Path) -> None:
    html = render(tmp_path)
    previews = re.findall(r'class="preview video (\w+)"[^>]*src="data:image/webp;base64,([^"]+)"', html)
    assert [k for k, _ in previews] == ["reference", "candidate", "champion"] * 2
    first = Image.open(io.BytesIO(base64.b64decode(previews[1][1])))
    assert first.is_animated and first.n_frames == 8
    assert not re.search(r'(src|href)="https?://', html)  # nothing fetched when opened
    assert "tiny-holdout/v1" in html and "GATE PASSED" in html and "data card" in html


def test_report_shows_every_check_intervals_and_what_was_not_computed(tmp_path: Path) -> None:
    html = render(tmp_path)
    assert html.count("<tr><td>") >= 9  # gate checks, skipped ones included
    assert "not computed: no I3D" in html and "[0.85, 0.95]" in html and "[0.05, 0.15]" in html
    assert "regression interval" in html and "Motion faithfulness" in html
    first = render(tmp_path / "first", champion=False)
    assert "no champion yet" in first and 'class="preview video champion"' not in first
