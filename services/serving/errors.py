"""Coded serving errors and the one table that maps their codes to HTTP status.

Routes and the job queue raise only :class:`ServingError` subclasses; the
handlers installed by :func:`install_error_handlers` turn them (and FastAPI's
own validation and HTTP errors) into ``{"error": code, "message": ...}``.
"""

from __future__ import annotations

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
QUEUE_FULL = "queue_full"
INVALID_IMAGE = "invalid_image"
INVALID_PARAMETER = "invalid_parameter"
PAYLOAD_TOO_LARGE = "payload_too_large"
BAD_SIGNATURE = "bad_signature"
WEBHOOK_DISABLED = "webhook_disabled"

HTTP_STATUS: dict[str, int] = {
    NO_MODEL: 503,
    JOB_NOT_FOUND: 404,
    JOB_NOT_FINISHED: 409,
    JOB_FINISHED: 409,
    QUEUE_FULL: 429,
    INVALID_IMAGE: 422,
    INVALID_PARAMETER: 422,
    PAYLOAD_TOO_LARGE: 413,
    BAD_SIGNATURE: 401,
    WEBHOOK_DISABLED: 404,
}
"""Error code → HTTP status; codes not listed map to 500."""


class ServingError(CodedError):
    """Base of every serving error; ``code`` is a short stable string."""

    code: ClassVar[str] = "serving_error"
    status_table: ClassVar[Mapping[str, int]] = HTTP_STATUS


class NoModelLoadedError(ServingError):
    """No model version has been loaded yet (or none verified)."""

    code = NO_MODEL


class JobNotFoundError(ServingError):
    """No job with that id (never existed, or evicted)."""

    code = JOB_NOT_FOUND


class JobNotFinishedError(ServingError):
    """The job's video does not exist (yet): it is queued, running, failed or cancelled."""

    code = JOB_NOT_FINISHED


class JobFinishedError(ServingError):
    """The job already reached a final state and cannot be cancelled."""

    code = JOB_FINISHED


class QueueFullError(ServingError):
    """The bounded job queue has no free slot."""

    code = QUEUE_FULL


class InvalidImageError(ServingError):
    """The uploaded file is empty or not a PNG/JPEG image."""

    code = INVALID_IMAGE


class InvalidParameterError(ServingError, ValueError):
    """A generation parameter is out of range; the message names the value."""

    code = INVALID_PARAMETER


class PayloadTooLargeError(ServingError):
    """The upload exceeds the configured size limit."""

    code = PAYLOAD_TOO_LARGE


class BadSignatureError(ServingError):
    """A webhook body's HMAC signature is missing or wrong."""

    code = BAD_SIGNATURE


class WebhookDisabledError(ServingError):
    """The reload webhook is off because no secret is configured."""

    code = WEBHOOK_DISABLED


def _body(code: str, message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


async def _serving_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServingError)
    return _body(exc.code, exc.message, exc.http_status)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{loc or 'request'}: {err.get('msg', 'invalid')}")
    return _body(INVALID_PARAMETER, "; ".join(parts) or "invalid request", 422)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = "not_found" if exc.status_code == 404 else "http_error"
    return _body(code, str(exc.detail), exc.status_code)


def install_error_handlers(app: FastAPI) -> None:
    """Register the JSON error mapping on ``app``."""
    app.add_exception_handler(ServingError, _serving_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
