"""The stakeholder HTML page."""

from __future__ import annotations

from fastapi.testclient import TestClient

SHA = "56" * 32


def test_index_lists_models_versions_aliases_and_metrics(client: TestClient) -> None:
    assert "No models registered yet" in client.get("/").text
    body = {"artifact_uri": "s3://b/k", "sha256": SHA, "metrics": {"fvd": 123.25}, "dataset_version": "ds-7"}
    client.post("/api/models/vidforge-i2v/versions", json=body)
    client.put("/api/models/vidforge-i2v/aliases/production", json={"version": 1})
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for needle in ("vidforge-i2v", "production", "fvd = 123.2", "ds-7", "s3://b/k"):
        assert needle in page.text


def test_index_escapes_descriptions(client: TestClient) -> None:
    client.post("/api/models", json={"name": "m", "description": "<script>x</script>"})
    assert "&lt;script&gt;" in client.get("/").text
