"""create_app: lifespan, error handling and the shape of every error body."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.registry.api import create_app
from services.registry.errors import SchemaOutOfDate
from vidforge.settings import get_settings


def test_unknown_model_is_404_with_the_error_body(client: TestClient, as_role: dict[str, dict[str, str]]) -> None:
    response = client.get("/api/models/nope", headers=as_role["viewer"])
    assert response.status_code == 404
    body = response.json()
    assert body["error"] == "not_found"
    assert "nope" in body["message"]


def test_store_validation_errors_are_422(client: TestClient, as_role: dict[str, dict[str, str]]) -> None:
    response = client.post("/api/models", json={"name": "has space"}, headers=as_role["operator"])
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_input"
    assert "name" in response.json()["message"]


def test_request_validation_errors_use_the_same_shape(
    client: TestClient, as_role: dict[str, dict[str, str]]
) -> None:
    response = client.post("/api/models", json={"description": "no name"}, headers=as_role["operator"])
    assert response.status_code == 422
    body = response.json()
    assert (body["error"], body["message"]) == ("invalid_input", "request validation failed: body.name: Field required")
    assert body["details"][0]["loc"] == ["body", "name"]


def test_startup_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    settings = get_settings(overrides={"home": str(tmp_path), "registry": {"db_url": f"sqlite:///{tmp_path}/e.db"}})
    with pytest.raises(SchemaOutOfDate), TestClient(create_app(settings)):
        pass


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
