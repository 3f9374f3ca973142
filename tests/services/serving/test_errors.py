"""The one error mapping: every ServingError and FastAPI's own errors become {error, message}."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.serving import errors as e


@pytest.mark.parametrize(
    ("cls", "status"),
    [(e.NoModelLoadedError, 503), (e.JobNotFoundError, 404), (e.JobNotFinishedError, 409),
     (e.JobFinishedError, 409), (e.ResultExpiredError, 410), (e.FramesNotRequestedError, 404),
     (e.IdempotencyConflictError, 409), (e.InvalidImageError, 422), (e.InvalidParameterError, 422),
     (e.UnknownParameterError, 422), (e.PayloadTooLargeError, 413), (e.ForbiddenError, 403),
     (e.BadSignatureError, 401), (e.WebhookDisabledError, 404), (e.SchemaOutOfDateError, 503),
     (e.TokenExistsError, 409), (e.TokenNotFoundError, 404), (e.ServingError, 500)],
)
def test_error_maps_to_status_and_json(cls: type[e.ServingError], status: int) -> None:
    app = FastAPI()
    e.install_error_handlers(app)

    @app.get("/boom")
    def boom() -> None:
        raise cls("what went wrong")

    r = TestClient(app).get("/boom")
    assert r.status_code == status
    assert r.json() == {"error": cls.code, "message": "what went wrong"}


def test_validation_and_routing_errors_share_the_shape() -> None:
    app = FastAPI()
    e.install_error_handlers(app)

    @app.get("/items/{n}")
    def item(n: int) -> int:
        return n

    client = TestClient(app)
    r = client.get("/items/x")
    assert r.status_code == 422 and r.json()["error"] == "invalid_parameter"
    assert r.json()["message"].startswith("n: Input should be a valid integer")
    r = client.get("/nowhere")
    assert r.status_code == 404 and r.json() == {"error": "not_found", "message": "no route GET /nowhere"}
    r = client.post("/items/1")
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"


@pytest.mark.parametrize("cls", [e.QueueFullError, e.QuotaExceededError, e.RateLimitedError])
def test_429s_carry_retry_after_in_whole_seconds(cls: type[e.RetryLaterError]) -> None:
    app = FastAPI()
    e.install_error_handlers(app)

    @app.get("/busy")
    def busy() -> None:
        raise cls("later", 2.2)

    r = TestClient(app).get("/busy")
    assert (r.status_code, r.headers["Retry-After"], r.json()["error"]) == (429, "3", cls.code)


def test_401_carries_the_bearer_challenge() -> None:
    app = FastAPI()
    e.install_error_handlers(app)

    @app.get("/who")
    def who() -> None:
        raise e.UnauthenticatedError("no token")

    r = TestClient(app).get("/who")
    assert (r.status_code, r.headers["WWW-Authenticate"]) == (401, "Bearer")
