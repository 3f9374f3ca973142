"""The service's knobs are ``settings.serving`` fields: env ``VIDFORGE_SERVING__*`` reaches the app, bad values fail."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from services.serving.app import create_app
from services.serving.routes.admin import SIGNATURE_HEADER, sign
from vidforge.settings import ServingSettings, Settings, get_settings

KNOBS = ("WEBHOOK_SECRET", "MAX_QUEUE", "MAX_RETAINED", "MAX_UPLOAD_BYTES", "MAX_SIDE", "TORCH_THREADS")


@pytest.fixture(autouse=True)
def _no_knob_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in KNOBS:
        monkeypatch.delenv(f"VIDFORGE_SERVING__{name}", raising=False)


def _settings(tmp_path: Path) -> Settings:
    return get_settings(overrides={"home": str(tmp_path / "home")})


def test_defaults() -> None:
    s = ServingSettings()
    assert (s.max_queue, s.max_retained, s.max_upload_bytes, s.max_side, s.torch_threads) == (
        16, 256, 20 * 1024 * 1024, 1024, 0,
    )
    assert s.webhook_secret.get_secret_value() == ""  # empty: webhook disabled


def test_env_reaches_the_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"WEBHOOK_SECRET": "s3cret", "MAX_QUEUE": "3", "MAX_RETAINED": "9",
           "MAX_UPLOAD_BYTES": "1000", "MAX_SIDE": "512", "TORCH_THREADS": "2"}
    for name, value in env.items():
        monkeypatch.setenv(f"VIDFORGE_SERVING__{name}", value)

    settings = _settings(tmp_path)
    s = settings.serving
    assert (s.max_queue, s.max_retained, s.max_upload_bytes, s.max_side, s.torch_threads) == (3, 9, 1000, 512, 2)
    assert s.webhook_secret.get_secret_value() == "s3cret"

    app = create_app(settings, start_background=False)
    jobs = app.state.serving.jobs
    assert (jobs.max_queued, jobs.max_retained) == (3, 9)
    client = TestClient(app)  # no lifespan: nothing polls the (absent) registry
    body = b"{}"
    r = client.post("/v1/admin/reload", content=body, headers={SIGNATURE_HEADER: sign("s3cret", body)})
    assert r.status_code == 202 and r.json() == {"triggered": True, "model_version": None}


def test_secret_is_not_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDFORGE_SERVING__WEBHOOK_SECRET", "s3cret")
    settings = _settings(tmp_path)
    assert "s3cret" not in repr(settings) and "s3cret" not in settings.model_dump_json()
    # A JSON round trip (how launchers hand settings to children) leaves the webhook disabled,
    # not keyed with pydantic's "**********" mask.
    again = get_settings(overrides=settings.model_dump(mode="json"))
    assert again.serving.webhook_secret.get_secret_value() == ""


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [("MAX_QUEUE", "0", r"serving\.max_queue\n  Input should be greater than or equal to 1"),
     ("MAX_QUEUE", "many", r"serving\.max_queue\n  Input should be a valid integer"),
     ("MAX_RETAINED", "-5", r"serving\.max_retained\n  Input should be greater than or equal to 1"),
     ("MAX_UPLOAD_BYTES", "0", r"serving\.max_upload_bytes\n  Input should be greater than or equal to 1"),
     ("MAX_SIDE", "0", r"serving\.max_side\n  Input should be greater than or equal to 1"),
     ("TORCH_THREADS", "-1", r"serving\.torch_threads\n  Input should be greater than or equal to 0")],
)
def test_invalid_env_value_is_rejected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str, match: str,
) -> None:
    monkeypatch.setenv(f"VIDFORGE_SERVING__{name}", value)
    with pytest.raises(ValidationError, match=match):
        _settings(tmp_path)


def test_invalid_override_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"serving\.max_queue"):
        get_settings(overrides={"home": str(tmp_path), "serving": {"max_queue": "0"}})
