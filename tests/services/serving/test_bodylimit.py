"""Bodies over the limit are refused before they are read whole (declared or streamed)."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from services.serving.bodylimit import BodyLimitMiddleware
from services.serving.errors import install_error_handlers


def _app(reads: list[int]) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, limit=100)

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        total = 0
        async for chunk in request.stream():
            total += len(chunk)
            reads.append(total)
        return {"bytes": total}

    return app


def test_small_bodies_pass() -> None:
    reads: list[int] = []
    r = TestClient(_app(reads)).post("/echo", content=b"x" * 100)
    assert r.status_code == 200 and r.json() == {"bytes": 100}


def test_declared_length_over_the_limit_is_refused_unread() -> None:
    reads: list[int] = []
    r = TestClient(_app(reads)).post("/echo", content=b"x" * 101)
    assert r.status_code == 413 and r.json()["error"] == "payload_too_large"
    assert "a body of 101 bytes; the limit is 100" in r.json()["message"] and reads == []


def test_streamed_body_is_stopped_at_the_limit() -> None:
    reads: list[int] = []

    def chunks() -> Iterator[bytes]:
        for _ in range(50):
            yield b"x" * 30

    r = TestClient(_app(reads)).post("/echo", content=chunks())
    assert r.status_code == 413 and "passed the limit of 100 bytes" in r.json()["message"]
    assert all(seen <= 100 for seen in reads)  # the app never saw more than the limit
