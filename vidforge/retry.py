"""One retry helper for transient I/O (object store 5xx, throttling, timeouts).

Permanent errors (missing keys, bad input) are raised at once; transient ones
are retried with exponential backoff and then re-raised so the caller (an
Airflow task) can fail and be retried by the scheduler.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

_TRANSIENT_CODES = {"500", "502", "503", "504", "SlowDown", "Throttling", "RequestTimeout", "429"}


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is worth retrying (network blip, 5xx, throttling)."""
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    try:
        from botocore.exceptions import ClientError
        from botocore.exceptions import ConnectionError as BotoConnError
    except ImportError:  # pragma: no cover - boto3 is a core dependency
        return False
    if isinstance(exc, BotoConnError):
        return True
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        return err.get("Code") in _TRANSIENT_CODES or status in _TRANSIENT_CODES
    return False


def retry_transient(
    fn: Callable[P, R] | None = None, *, attempts: int = 4, base_delay_s: float = 0.2
) -> Callable[..., R]:
    """Decorator: retry ``fn`` on transient errors, ``attempts`` tries in total."""

    def wrap(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def inner(*args: P.args, **kwargs: P.kwargs) -> R:
            for attempt in range(1, attempts + 1):
                try:
                    return func(*args, **kwargs)
                except Exception as exc:
                    if attempt == attempts or not is_transient(exc):
                        raise
                    time.sleep(base_delay_s * 2 ** (attempt - 1) * (1 + random.random()))
            raise AssertionError("unreachable")

        return inner

    return wrap(fn) if fn is not None else wrap  # type: ignore[return-value]
