"""ServingOptions.from_env: env names, defaults, validation."""

from __future__ import annotations

import pytest

from services.serving.options import ServingOptions


def test_from_env_reads_every_variable() -> None:
    opts = ServingOptions.from_env({
        "VIDFORGE_SERVING_WEBHOOK_SECRET": "s3cret", "VIDFORGE_SERVING_MAX_QUEUE": "3",
        "VIDFORGE_SERVING_MAX_RETAINED": "9", "VIDFORGE_SERVING_MAX_UPLOAD_BYTES": "1000",
        "VIDFORGE_SERVING_MAX_SIDE": " 512 ", "VIDFORGE_SERVING_TORCH_THREADS": "2",
    })
    assert opts == ServingOptions(webhook_secret="s3cret", max_queue=3, max_retained=9,
                                  max_upload_bytes=1000, max_side=512, torch_threads=2)


def test_from_env_defaults_when_unset() -> None:
    assert ServingOptions.from_env({}) == ServingOptions()
    assert ServingOptions().webhook_secret == ""


@pytest.mark.parametrize(
    ("env", "match"),
    [({"VIDFORGE_SERVING_MAX_QUEUE": "many"}, "VIDFORGE_SERVING_MAX_QUEUE='many' is not an integer"),
     ({"VIDFORGE_SERVING_MAX_SIDE": "0"}, "max_side=0 must be >= 1"),
     ({"VIDFORGE_SERVING_TORCH_THREADS": "-1"}, "torch_threads=-1 must be >= 0")],
)
def test_from_env_rejects_bad_numbers(env: dict[str, str], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ServingOptions.from_env(env)
