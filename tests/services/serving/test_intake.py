"""intake: form names then types are checked, and the request hash identifies a request for idempotency."""

from __future__ import annotations

import pytest

from services.serving.errors import InvalidParameterError, UnknownParameterError
from services.serving.intake import parse_form, request_hash


def test_parse_form_checks_names_then_types() -> None:
    form = parse_form({"seed": "3", "motion_score": "1.5", "return_frames": "true"})
    assert (form.seed, form.motion_score, form.return_frames, form.num_frames) == (3, 1.5, True, None)
    assert form.to_request().seed == 3
    with pytest.raises(UnknownParameterError, match="'sede'"):
        parse_form({"sede": "3", "fps": "x"})  # the typo is named before any type error
    with pytest.raises(InvalidParameterError, match=r"^fps: Input should be a valid integer.*; seed: "):
        parse_form({"fps": "x", "seed": "y"})


def test_request_hash_covers_image_and_fields_not_their_order() -> None:
    base = request_hash({"seed": "1", "fps": "7"}, b"img")
    assert base == request_hash({"fps": "7", "seed": "1"}, b"img")
    assert base != request_hash({"seed": "2", "fps": "7"}, b"img") != request_hash({"seed": "1", "fps": "7"}, b"im")
