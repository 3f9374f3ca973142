"""Serving knobs that ``vidforge.settings.ServingSettings`` does not (yet) carry.

Read from the environment so a deployment can set them without a settings
change; :meth:`ServingOptions.from_env` is the only place they are parsed.

=====================================  ==========================================
``VIDFORGE_SERVING_WEBHOOK_SECRET``    HMAC-SHA256 key of ``POST /v1/admin/reload``
                                       (unset: the webhook answers 404)
``VIDFORGE_SERVING_MAX_QUEUE``         queued jobs before submit answers 429 (16)
``VIDFORGE_SERVING_MAX_RETAINED``      finished jobs (and mp4s) kept (256)
``VIDFORGE_SERVING_MAX_UPLOAD_BYTES``  largest accepted image upload (20 MiB)
``VIDFORGE_SERVING_MAX_SIDE``          largest ``height``/``width`` in pixels (1024)
``VIDFORGE_SERVING_TORCH_THREADS``     torch intra-op threads set by ``run()`` (0: torch's default)
=====================================  ==========================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ServingOptions:
    """Extra serving limits and secrets (see the module docstring for the env names)."""

    webhook_secret: str = ""
    max_queue: int = 16
    max_retained: int = 256
    max_upload_bytes: int = 20 * 1024 * 1024
    max_side: int = 1024
    torch_threads: int = 0

    def __post_init__(self) -> None:
        for name in ("max_queue", "max_retained", "max_upload_bytes", "max_side"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} must be >= 1")
        if self.torch_threads < 0:
            raise ValueError(f"torch_threads={self.torch_threads} must be >= 0")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServingOptions:
        """Options from ``env`` (default ``os.environ``); unset names keep the defaults.

        Raises:
            ValueError: a numeric variable is not a positive integer.
        """
        env = os.environ if env is None else env
        defaults = cls()

        def num(name: str, default: int) -> int:
            raw = env.get(f"VIDFORGE_SERVING_{name.upper()}", "").strip()
            if not raw:
                return default
            try:
                return int(raw)
            except ValueError as e:
                raise ValueError(f"VIDFORGE_SERVING_{name.upper()}={raw!r} is not an integer") from e

        return cls(
            webhook_secret=env.get("VIDFORGE_SERVING_WEBHOOK_SECRET", ""),
            max_queue=num("max_queue", defaults.max_queue),
            max_retained=num("max_retained", defaults.max_retained),
            max_upload_bytes=num("max_upload_bytes", defaults.max_upload_bytes),
            max_side=num("max_side", defaults.max_side),
            torch_threads=num("torch_threads", defaults.torch_threads),
        )
