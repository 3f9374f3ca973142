"""One retry helper for transient I/O (object store 5xx, throttling, timeouts, Kubernetes API 429/5xx).

Permanent errors (missing keys, bad input, 4xx) are raised at once; transient
ones are retried with exponential backoff and then re-raised so the caller (an
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

#: HTTP statuses worth retrying (throttling, server errors, gateway timeouts).
TRANSIENT_HTTP_STATUS = frozenset({429, 500, 502, 503, 504})
_TRANSIENT_S3_CODES = {"SlowDown", "Throttling", "RequestTimeout", *map(str, TRANSIENT_HTTP_STATUS)}
#: urllib3 errors of a connection that failed or broke (what the Kubernetes client raises then).
_URLLIB3_TRANSIENT = {"ProtocolError", "TimeoutError", "NewConnectionError", "MaxRetryError"}


def _class_names(exc: BaseException, module_prefix: str) -> set[str]:
    """Names of the classes of ``exc`` (its MRO) defined in modules under ``module_prefix``.

    Matching by name keeps optional clients (``kubernetes``, ``urllib3``) out of this
    module's imports: an exception of a client that is not installed cannot occur.
    """
    return {c.__name__ for c in type(exc).__mro__ if c.__module__.startswith(module_prefix)}


def _is_transient_kubernetes(exc: BaseException) -> bool:
    """``kubernetes.client.exceptions.ApiException`` with 429/5xx, or status 0/None (no HTTP answer)."""
    if "ApiException" not in _class_names(exc, "kubernetes."):
        return False
    status = getattr(exc, "status", None)
    return not status or status in TRANSIENT_HTTP_STATUS


def _is_transient_boto(exc: BaseException) -> bool:
    from botocore.exceptions import ClientError
    from botocore.exceptions import ConnectionError as BotoConnError

    if isinstance(exc, BotoConnError):
        return True
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        return err.get("Code") in _TRANSIENT_S3_CODES or status in _TRANSIENT_S3_CODES
    return False


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is worth retrying.

    Transient: ``ConnectionError``/``TimeoutError``; botocore connection errors and S3
    5xx/throttling; Kubernetes ``ApiException`` with status 429, 500, 502, 503, 504 or
    0/None (the request got no HTTP answer); urllib3 connection, protocol and timeout
    errors. Everything else (4xx, bad input) is permanent.
    """
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    if _is_transient_kubernetes(exc) or _class_names(exc, "urllib3.") & _URLLIB3_TRANSIENT:
        return True
    return _is_transient_boto(exc)


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
