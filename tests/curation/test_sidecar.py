from __future__ import annotations

from pathlib import Path

import pytest

from curation.sidecar import best_shot, read_shot_captions, sidecar_path, write_sidecar


def test_roundtrip_and_single_caption_fallback(tmp_path: Path) -> None:
    video = tmp_path / "a.mp4"
    write_sidecar(video, {"shots": [
        {"start_frame": 0, "end_frame": 10, "caption": "a dog"},
        {"start_frame": 10, "end_frame": 30, "caption_image": "img", "caption_video": "vid",
         "caption_summary": "sum"},
    ]})
    assert sidecar_path(video) == tmp_path / "a.json"
    shots = read_shot_captions(video)
    assert shots is not None
    assert (shots[0].caption_image, shots[0].caption_summary) == ("a dog", "a dog")
    assert (shots[1].caption_video, shots[1].end_frame) == ("vid", 30)
    assert best_shot(shots, 8, 25) == shots[1]
    assert best_shot(shots, 0, 9) == shots[0]
    assert best_shot(shots, 40, 50) is None


def test_missing_and_malformed(tmp_path: Path) -> None:
    video = tmp_path / "b.mp4"
    assert read_shot_captions(video) is None
    sidecar_path(video).write_text("{not json")
    with pytest.raises(ValueError, match="malformed"):
        read_shot_captions(video)
    with pytest.raises(ValueError, match="shots"):
        write_sidecar(video, {})
