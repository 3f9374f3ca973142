"""vidforge.ids: readable sortable ids, unguessable secret ids, stable content ids."""

from __future__ import annotations

import re

import pytest

from vidforge.ids import content_id, new_id, secret_id


def test_new_id_is_readable_and_sortable() -> None:
    assert re.fullmatch(r"run-\d{8}t\d{6}-[0-9a-f]{6}", new_id("run"))


def test_secret_id_has_at_least_128_random_bits() -> None:
    ids = {secret_id("job") for _ in range(1000)}
    assert len(ids) == 1000 and all(re.fullmatch(r"job-[0-9a-f]{32}", i) for i in ids)
    assert len(secret_id("job", 20)) == len("job-") + 40
    with pytest.raises(ValueError, match=">= 16 random bytes"):
        secret_id("job", 8)


def test_content_id_is_stable() -> None:
    assert content_id("a", "b") == content_id("a", "b") != content_id("ab")
