"""Tests of :mod:`curation.media.seeking`: a seek the demuxer refuses is reported, not raised."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from curation.media.seeking import seek_keyframe
from curation.oddinputs import SHOT_FRAMES, OddInput


def _second_shot_pts(path: Path) -> int:
    with av.open(str(path)) as c:
        return sorted(int(p.pts) for p in c.demux(video=0) if p.size)[SHOT_FRAMES]


@pytest.mark.parametrize(("name", "at_start"), [("mkv_no_cues", False), ("webm_no_cues", False), ("flv", True)])
def test_a_refused_seek_returns_false(odd_inputs: dict[str, OddInput], name: str, at_start: bool) -> None:
    path = odd_inputs[name].path
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        pts = int(stream.start_time) - 1 if at_start else _second_shot_pts(path)  # FLV: before its first frame
        assert seek_keyframe(c, stream, pts) is False


@pytest.mark.parametrize("name", ["mkv_no_cues", "webm_no_cues", "flv"])
def test_a_seekable_copy_seeks(seekable_copies: dict[str, Path], name: str) -> None:
    path = seekable_copies[name]
    pts = _second_shot_pts(path)
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        assert seek_keyframe(c, stream, pts) is True
        assert next(c.decode(stream)).pts == pts  # a keyframe (the cut)
