"""Refuse request bodies over a size limit before they are read whole.

An ASGI middleware: a declared ``Content-Length`` over the limit is answered
413 at once, without reading a byte of the body; a body without one (chunked)
is counted as it streams in and the request fails with
:class:`~services.serving.errors.PayloadTooLargeError` (413) as soon as it
passes the limit — the parser never holds more than the limit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.serving.errors import PAYLOAD_TOO_LARGE, PayloadTooLargeError, error_response

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimitMiddleware:
    """Cap every HTTP request body at ``limit`` bytes."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                size = -1
            if size < 0 or size > self.limit:
                shown = "an invalid Content-Length" if size < 0 else f"a body of {size} bytes"
                response = error_response(PAYLOAD_TOO_LARGE, f"{shown}; the limit is {self.limit} bytes", 413,
                                          {"Connection": "close"})
                await response(scope, receive, send)
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise PayloadTooLargeError(f"the request body passed the limit of {self.limit} bytes")
            return message

        await self.app(scope, counted, send)
