"""The service's knobs are ``settings.serving`` fields: env ``VIDFORGE_SERVING__*`` reaches the app, bad values fail."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from services.serving.app import create_app
from vidforge.settings import ServingSettings, Settings, get_settings

KNOBS = ("WEBHOOK_SECRET", "MAX_QUEUE", "MAX_UPLOAD_BYTES", "MAX_SIDE", "TORCH_THREADS", "WORKERS",
         "JOB_DEADLINE_S", "MAX_ACTIVE_JOBS_PER_TOKEN", "DB_URL", "RESULT_TTL_S")


@pytest.fixture(autouse=True)
def _no_knob_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in KNOBS:
        monkeypatch.delenv(f"VIDFORGE_SERVING__{name}", raising=False)


def _settings(tmp_path: Path) -> Settings:
    return get_settings(overrides={"home": str(tmp_path / "home")})


def test_defaults(tmp_path: Path) -> None:
    s = ServingSettings()
    assert (s.max_queue, s.max_upload_bytes, s.max_side, s.torch_threads, s.workers) == (
        16, 20 * 1024 * 1024, 1024, 0, 0)
    assert (s.job_deadline_s, s.max_active_jobs_per_token, s.min_image_side, s.max_image_pixels) == (900, 4, 64, 0)
    assert s.request_limit == 21 * 1024 * 1024  # upload + 1 MiB of form
    assert s.webhook_secret.get_secret_value() == ""  # empty: webhook disabled
    assert _settings(tmp_path).serving.db_url == f"sqlite:///{tmp_path / 'home' / 'serving.db'}"


def test_env_reaches_the_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"WEBHOOK_SECRET": "s3cret", "MAX_QUEUE": "3", "MAX_UPLOAD_BYTES": "1000", "MAX_SIDE": "512",
           "WORKERS": "2", "JOB_DEADLINE_S": "60", "MAX_ACTIVE_JOBS_PER_TOKEN": "2",
           "DB_URL": f"sqlite:///{tmp_path / 'jobs.db'}"}
    for name, value in env.items():
        monkeypatch.setenv(f"VIDFORGE_SERVING__{name}", value)

    settings = _settings(tmp_path)
    s = settings.serving
    assert (s.max_queue, s.max_upload_bytes, s.max_side, s.workers, s.job_deadline_s) == (3, 1000, 512, 2, 60)
    app = create_app(settings, start_background=False)
    state = app.state.serving
    assert (state.workers.config.workers, state.workers.config.deadline_s) == (2, 60)
    assert state.store.db_url == f"sqlite:///{tmp_path / 'jobs.db'}" and (tmp_path / "jobs.db").is_file()
    assert state.metrics.registry.get_sample_value("vidforge_serving_queue_capacity") == 3
    state.store.dispose()


def test_secret_is_not_printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDFORGE_SERVING__WEBHOOK_SECRET", "s3cret")
    settings = _settings(tmp_path)
    assert "s3cret" not in repr(settings) and "s3cret" not in settings.model_dump_json()
    again = get_settings(overrides=settings.model_dump(mode="json"))
    assert again.serving.webhook_secret.get_secret_value() == ""


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [("MAX_QUEUE", "0", r"serving\.max_queue\n  Input should be greater than or equal to 1"),
     ("MAX_QUEUE", "many", r"serving\.max_queue\n  Input should be a valid integer"),
     ("MAX_UPLOAD_BYTES", "0", r"serving\.max_upload_bytes\n  Input should be greater than or equal to 1"),
     ("MAX_SIDE", "0", r"serving\.max_side\n  Input should be greater than or equal to 8"),
     ("TORCH_THREADS", "-1", r"serving\.torch_threads\n  Input should be greater than or equal to 0"),
     ("JOB_DEADLINE_S", "0", r"serving\.job_deadline_s\n  Input should be greater than 0"),
     ("MAX_ACTIVE_JOBS_PER_TOKEN", "0", r"serving\.max_active_jobs_per_token\n  Input should be greater")],
)
def test_invalid_env_value_is_rejected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str, match: str,
) -> None:
    monkeypatch.setenv(f"VIDFORGE_SERVING__{name}", value)
    with pytest.raises(ValidationError, match=match):
        _settings(tmp_path)
