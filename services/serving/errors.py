"""Coded serving errors and the one table that maps their codes to HTTP status.

Routes, the job store and the workers raise only :class:`ServingError`
subclasses; the handlers installed by :func:`install_error_handlers` turn them
(and FastAPI's own validation and HTTP errors) into ``{"error": code,
"message": ...}``. A 429 carries ``Retry-After`` (whole seconds) and a 401
``WWW-Authenticate: Bearer``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from vidforge.errors import CodedError

if TYPE_CHECKING:
    from fastapi import FastAPI, Request

NO_MODEL = "no_model_loaded"
JOB_NOT_FOUND = "job_not_found"
JOB_NOT_FINISHED = "job_not_finished"
JOB_FINISHED = "job_finished"
RESULT_EXPIRED = "result_expired"
FRAMES_NOT_REQUESTED = "frames_not_requested"
QUEUE_FULL = "queue_full"
QUOTA_EXCEEDED = "quota_exceeded"
RATE_LIMITED = "rate_limited"
IDEMPOTENCY_CONFLICT = "idempotency_conflict"
INVALID_IMAGE = "invalid_image"
INVALID_PARAMETER = "invalid_parameter"
UNKNOWN_PARAMETER = "unknown_parameter"
PAYLOAD_TOO_LARGE = "payload_too_large"
UNAUTHENTICATED = "unauthenticated"
FORBIDDEN = "forbidden"
BAD_SIGNATURE = "bad_signature"
WEBHOOK_DISABLED = "webhook_disabled"
SCHEMA_OUT_OF_DATE = "schema_out_of_date"
TOKEN_EXISTS = "token_exists"
TOKEN_NOT_FOUND = "token_not_found"
NOT_FOUND = "not_found"
METHOD_NOT_ALLOWED = "method_not_allowed"

HTTP_STATUS: dict[str, int] = {
    NO_MODEL: 503,
    JOB_NOT_FOUND: 404,
    JOB_NOT_FINISHED: 409,
    JOB_FINISHED: 409,
    RESULT_EXPIRED: 410,
    FRAMES_NOT_REQUESTED: 404,
    QUEUE_FULL: 429,
    QUOTA_EXCEEDED: 429,
    RATE_LIMITED: 429,
    IDEMPOTENCY_CONFLICT: 409,
    INVALID_IMAGE: 422,
    INVALID_PARAMETER: 422,
    UNKNOWN_PARAMETER: 422,
    PAYLOAD_TOO_LARGE: 413,
    UNAUTHENTICATED: 401,
    FORBIDDEN: 403,
    BAD_SIGNATURE: 401,
    WEBHOOK_DISABLED: 404,
    SCHEMA_OUT_OF_DATE: 503,
    TOKEN_EXISTS: 409,
    TOKEN_NOT_FOUND: 404,
}
"""Error code → HTTP status; codes not listed map to 500."""


class ServingError(CodedError):
    """Base of every serving error; ``code`` is a short stable string."""

    code: ClassVar[str] = "serving_error"
    status_table: ClassVar[Mapping[str, int]] = HTTP_STATUS

    @property
    def headers(self) -> dict[str, str]:
        """Extra response headers (none by default)."""
        return {}


class RetryLaterError(ServingError):
    """A request refused for now; ``retry_after_s`` says when trying again makes sense."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = max(1.0, float(retry_after_s))

    @property
    def headers(self) -> dict[str, str]:
        """``Retry-After`` in whole seconds (at least 1)."""
        return {"Retry-After": str(math.ceil(self.retry_after_s))}


class NoModelLoadedError(ServingError):
    """No model version has been loaded and warmed up yet."""

    code = NO_MODEL


class JobNotFoundError(ServingError):
    """No job with that id belongs to the caller (it never existed, or is another caller's)."""

    code = JOB_NOT_FOUND


class JobNotFinishedError(ServingError):
    """The job's result does not exist: it is queued, running, failed or cancelled."""

    code = JOB_NOT_FINISHED


class JobFinishedError(ServingError):
    """The job already reached a final state and cannot be cancelled."""

    code = JOB_FINISHED


class ResultExpiredError(ServingError):
    """The job succeeded but its results were deleted after their time to live."""

    code = RESULT_EXPIRED


class FramesNotRequestedError(ServingError):
    """The job was submitted without ``return_frames``: only its mp4 exists."""

    code = FRAMES_NOT_REQUESTED


class QueueFullError(RetryLaterError):
    """The bounded job queue has no free slot."""

    code = QUEUE_FULL


class QuotaExceededError(RetryLaterError):
    """The caller already has its allowed number of queued and running jobs."""

    code = QUOTA_EXCEEDED


class RateLimitedError(RetryLaterError):
    """The caller sent more requests than its rate allows."""

    code = RATE_LIMITED


class IdempotencyConflictError(ServingError):
    """The ``Idempotency-Key`` was used before with a different request."""

    code = IDEMPOTENCY_CONFLICT


class InvalidImageError(ServingError):
    """The uploaded file is empty, not a PNG/JPEG image, or outside the size bounds."""

    code = INVALID_IMAGE


class InvalidParameterError(ServingError, ValueError):
    """A generation parameter is out of range; the message names the value."""

    code = INVALID_PARAMETER


class UnknownParameterError(ServingError):
    """The request carries fields the API does not define; the message names them."""

    code = UNKNOWN_PARAMETER


class PayloadTooLargeError(ServingError):
    """The upload or request body exceeds the configured size limit."""

    code = PAYLOAD_TOO_LARGE


class UnauthenticatedError(ServingError):
    """No bearer token, or an unknown or revoked one."""

    code = UNAUTHENTICATED

    @property
    def headers(self) -> dict[str, str]:
        """The challenge of RFC 6750."""
        return {"WWW-Authenticate": "Bearer"}


class ForbiddenError(ServingError):
    """The token lacks the scope the route needs."""

    code = FORBIDDEN


class BadSignatureError(ServingError):
    """A webhook body's signature is missing, wrong or too old."""

    code = BAD_SIGNATURE


class WebhookDisabledError(ServingError):
    """The reload webhook is off because no secret is configured."""

    code = WEBHOOK_DISABLED


class SchemaOutOfDateError(ServingError):
    """The job database is not at this code's migration head."""

    code = SCHEMA_OUT_OF_DATE


class TokenExistsError(ServingError):
    """A token with that name exists already (revoked names are not reused)."""

    code = TOKEN_EXISTS


class TokenNotFoundError(ServingError):
    """No token with that name."""

    code = TOKEN_NOT_FOUND


def error_response(code: str, message: str, status: int, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The error body every failure uses."""
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=dict(headers or {}))


async def _serving_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServingError)
    return error_response(exc.code, exc.message, exc.http_status, exc.headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header"))
        parts.append(f"{loc or 'request'}: {err.get('msg', 'invalid')}")
    return error_response(INVALID_PARAMETER, "; ".join(parts) or "invalid request", 422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: NOT_FOUND, 405: METHOD_NOT_ALLOWED}.get(exc.status_code, "http_error")
    message = f"no route {request.method} {request.url.path}" if exc.status_code in (404, 405) else str(exc.detail)
    return error_response(code, message, exc.status_code, getattr(exc, "headers", None))


def install_error_handlers(app: FastAPI) -> None:
    """Register the JSON error mapping on ``app``."""
    app.add_exception_handler(ServingError, _serving_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
