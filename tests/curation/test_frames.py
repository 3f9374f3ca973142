"""Tests of curation/frames.py: :func:`decode_errors` maps decode failures to the clip's quarantine codes."""

from __future__ import annotations

import av
import pytest

from curation.frames import TooShortError, decode_errors
from curation.stages.base import ItemError


@pytest.mark.parametrize("clip_path", [None, "clip.mp4"])
def test_a_too_short_clip_is_too_short(clip_path: str | None) -> None:
    with pytest.raises(ItemError) as info, decode_errors(clip_path):
        raise TooShortError("clip.mp4: no frame decodes")
    assert info.value.code == "too_short" and str(info.value) == "clip.mp4: no frame decodes"


@pytest.mark.parametrize("error", [OSError("gone"), av.InvalidDataError(1094995529, "bad data")])
def test_decode_failures_become_decode_failed_only_with_a_path(error: Exception) -> None:
    with pytest.raises(ItemError) as info, decode_errors("clip.mp4"):
        raise error
    assert info.value.code == "decode_failed" and str(info.value).startswith("cannot decode clip.mp4: ")
    with pytest.raises(type(error)), decode_errors():
        raise error
