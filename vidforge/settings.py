"""Typed platform settings, layered file → environment → CLI.

Precedence (highest first): explicit overrides (the CLI's ``--set a.b=c``),
environment variables (``VIDFORGE_<FIELD>``, nested with ``__``, e.g.
``VIDFORGE_REGISTRY__DB_URL``), a YAML file (``--config`` or ``VIDFORGE_CONFIG``),
then the defaults below. The defaults are the embedded profile: everything lives
under ``home`` (SQLite registry, local-directory object store).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_serializer, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

_CONFIG_FILE: ContextVar[Path | None] = ContextVar("vidforge_config_file", default=None)


class StoreSettings(BaseModel):
    """Where artefacts live: ``file:///abs/dir`` or ``s3://bucket/prefix``."""

    uri: str = ""
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"


class RegistrySettings(BaseModel):
    """The model registry: its database, the model the platform trains, and its governance settings.

    ``token`` is the identity this process acts under when it talks to the
    registry (the CLI, the DAG tasks): a token created with ``vidforge registry
    token create``. ``url`` is the registry's HTTP address for clients that use
    the API rather than the database. ``session_secret`` signs the web pages'
    session cookies; empty: a random key per process (sessions end on restart,
    and replicas do not share them).
    """

    db_url: str = ""
    model_name: str = "vidforge-i2v"
    url: str = "http://127.0.0.1:8081"
    token: SecretStr = Field(default=SecretStr(""), description="This process's registry identity (API token).")
    protected_aliases: list[str] = Field(
        default_factory=lambda: ["production"], description="Aliases new models protect (gate + four eyes)."
    )
    allowed_uri_prefixes: list[str] = Field(
        default_factory=list, description="Where artifact/report/dataset URIs may point; empty: the object store."
    )
    webhook_allowed_hosts: list[str] = Field(
        default_factory=lambda: ["localhost", "127.0.0.1"], description="Hosts webhooks may be sent to."
    )
    session_secret: SecretStr = Field(default=SecretStr(""), description="Page session-cookie key.")
    secure_cookies: bool = Field(False, description="Mark the session cookie Secure (set behind HTTPS).")

    @field_serializer("token", "session_secret", when_used="json")
    def _drop_secret(self, _: SecretStr) -> str:
        return ""


class ServingSettings(BaseModel):
    """The generation service (env ``VIDFORGE_SERVING__<FIELD>``, e.g. ``VIDFORGE_SERVING__MAX_QUEUE``).

    Jobs live in the service's own database (``db_url``, default SQLite under
    ``home``; PostgreSQL in production, possibly the registry's server with its
    own tables) and their results in the object store under ``results_prefix``.
    ``webhook_secret`` is the signing secret the registry showed when the
    serving webhook was added (``X-Vidforge-Signature``); empty (the default)
    disables ``POST /v1/admin/reload`` (404). ``torch_threads`` is the torch
    intra-op thread count set by ``services.serving.main.run`` (0: torch's
    default). Rate limits are per token and per replica (in memory); quotas
    and the queue bound are global (counted in the database).
    """

    host: str = "127.0.0.1"
    port: int = 8080
    alias: str = "production"
    poll_interval_s: float = Field(5.0, gt=0, description="Seconds between polls of the registry alias.")
    cache_dir: str = ""
    device: str = "cpu"
    max_frames: int = Field(32, ge=2)
    max_steps: int = Field(50, ge=1)
    webhook_secret: SecretStr = Field(default=SecretStr(""), description="Registry webhook secret; empty: disabled.")
    max_queue: int = Field(16, ge=1, description="Queued jobs (all replicas) before submit answers 429.")
    max_upload_bytes: int = Field(20 * 1024 * 1024, ge=1, description="Largest accepted image file.")
    max_request_bytes: int = Field(
        0, ge=0, description="Largest request body, refused before it is read (0: max_upload_bytes + 1 MiB)."
    )
    max_side: int = Field(1024, ge=8, description="Largest request height/width in pixels.")
    min_image_side: int = Field(
        64, ge=1, description="Smallest input image side (raised to the model's latent factor when below it)."
    )
    max_image_pixels: int = Field(
        0, ge=0, description="Largest input image in pixels, read from its header (0: 16x the model's resolution, "
        "at least 1024x1024).",
    )
    torch_threads: int = Field(0, ge=0, description="Torch intra-op threads (0: torch's default).")
    db_url: str = Field("", description="The job database; empty: SQLite under home.")
    db_auto_upgrade: bool = Field(True, description="Migrate the job database at start-up (off: refuse if behind).")
    replica_id: str = Field("", description="Stable name of this replica (e.g. the pod name); empty: random.")
    workers: int = Field(0, ge=0, description="Worker threads (0: one per GPU with a cuda device, else 1).")
    job_deadline_s: float = Field(900.0, gt=0, description="A running job is stopped and failed after this long.")
    lease_s: float = Field(30.0, gt=0, description="A running job whose replica did not renew it this long is lost.")
    heartbeat_s: float = Field(5.0, gt=0, description="How often a replica renews its jobs' leases.")
    max_attempts: int = Field(2, ge=1, description="Runs of a job whose worker was lost, before it fails retryable.")
    claim_poll_s: float = Field(0.5, gt=0, description="Idle workers look for jobs (other replicas') this often.")
    result_ttl_s: float = Field(86400.0, gt=0, description="Results are deleted this long after a job finished.")
    results_prefix: str = Field("serving/jobs", description="Object-store prefix of job results.")
    cleanup_interval_s: float = Field(60.0, gt=0, description="Period of result expiry and lost-job recovery.")
    max_active_jobs_per_token: int = Field(4, ge=1, description="Queued + running jobs one token may have.")
    submit_rate_per_min: float = Field(30.0, gt=0, description="Submissions per minute per token (and replica).")
    submit_burst: int = Field(10, ge=1, description="Submissions a token may make at once.")
    request_rate_per_min: float = Field(1200.0, gt=0, description="Authenticated requests per minute per token.")
    request_burst: int = Field(200, ge=1, description="Authenticated requests a token may make at once.")
    load_retry_base_s: float = Field(10.0, gt=0, description="First retry of a refused model version after this.")
    load_retry_max_s: float = Field(600.0, gt=0, description="Longest wait between retries of a refused version.")
    warmup: bool = Field(True, description="Run one tiny generation on a new model before it takes jobs.")
    registry_timeout_s: float = Field(10.0, gt=0, description="Timeout of one registry HTTP request.")

    @property
    def request_limit(self) -> int:
        """The effective request-body limit in bytes."""
        return self.max_request_bytes or self.max_upload_bytes + 1024 * 1024

    @field_serializer("webhook_secret", when_used="json")
    def _drop_secret(self, _: SecretStr) -> str:
        # A JSON dump (e.g. settings handed to a launched child) must not carry
        # the key, nor pydantic's "**********" mask that would read back as a key.
        return ""


class TrainingSettings(BaseModel):
    """Where the deployment trains (env ``VIDFORGE_TRAINING__<FIELD>``, e.g. ``VIDFORGE_TRAINING__LAUNCHER``).

    An asset-triggered training run takes these; a run's ``launcher`` param only
    overrides ``launcher``. ``launchers_profile`` names the resource profile
    (``configs/training/launchers/<profile>.yaml``: GPUs, memory, tolerations,
    TrainJob nodes, Ray cluster); ``image`` (non-empty) replaces its training image.
    """

    launcher: Literal["local", "kubernetes", "trainjob", "ray"] = "local"
    launchers_profile: str = Field("default", pattern=r"^[A-Za-z0-9_./-]+$")
    image: str = Field("", description="Training image; empty: the profile's kubernetes.image.")


class Settings(BaseSettings):
    """All platform settings. Build with :func:`get_settings`."""

    model_config = SettingsConfigDict(
        env_prefix="VIDFORGE_", env_nested_delimiter="__", extra="ignore"
    )

    home: Path = Field(default=Path(".vidforge"), description="Root of local state.")
    log_level: str = "INFO"
    log_json: bool = False
    store: StoreSettings = StoreSettings()
    registry: RegistrySettings = RegistrySettings()
    serving: ServingSettings = ServingSettings()
    training: TrainingSettings = TrainingSettings()

    @model_validator(mode="after")
    def _fill_embedded_defaults(self) -> Settings:
        self.home = self.home.expanduser().resolve()
        if not self.store.uri:
            self.store.uri = (self.home / "store").as_uri()
        if not self.registry.db_url:
            self.registry.db_url = f"sqlite:///{self.home / 'registry.db'}"
        if not self.serving.cache_dir:
            self.serving.cache_dir = str(self.home / "serving-cache")
        if not self.serving.db_url:
            self.serving.db_url = f"sqlite:///{self.home / 'serving.db'}"
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _CONFIG_FILE.get() or os.environ.get("VIDFORGE_CONFIG")
        if path:
            if not Path(path).is_file():
                raise FileNotFoundError(f"config file not found: {path}")
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=Path(path)))
        return tuple(sources)


def deep_merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A new dict: ``overrides`` merged into ``base`` recursively (dicts merge, other values replace)."""
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def nest_dotted(values: Mapping[str, Any]) -> dict[str, Any]:
    """``{"a.b": 1, "a": {"c": 2}}`` → ``{"a": {"b": 1, "c": 2}}``: dotted keys become nested
    dicts, merged in order (later keys win); values are kept as given."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        for part in reversed(key.split(".")):
            value = {part: value}
        out = deep_merge(out, value)
    return out


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """Turn ``["registry.db_url=sqlite://", "log_json=true"]`` into a nested dict (values stay strings).

    Raises:
        ValueError: a pair has no ``=`` or an empty key.
    """
    flat: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"override must look like key=value or key.sub=value, got {pair!r}")
        flat.pop(key.strip(), None)  # a repeated key counts where it was last given
        flat[key.strip()] = value
    return nest_dotted(flat)


def get_settings(
    config_file: str | Path | None = None, overrides: dict[str, Any] | None = None
) -> Settings:
    """Build settings from defaults < YAML file < environment < ``overrides``."""
    token = _CONFIG_FILE.set(Path(config_file) if config_file else None)
    try:
        return Settings(**(overrides or {}))
    finally:
        _CONFIG_FILE.reset(token)
