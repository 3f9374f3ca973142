"""Stakeholder HTML page: ``GET /`` lists models, versions, aliases and metrics.

Also ``GET /healthz`` for probes (200 once the store opened at start-up).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from services.registry.deps import StoreDep

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
_templates = Jinja2Templates(directory=TEMPLATES_DIR)

router = APIRouter(tags=["pages"])


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def index(request: Request, store: StoreDep) -> HTMLResponse:
    """Every model with its aliases and versions (newest first) and their metrics."""
    models = [(m, list(reversed(store.list_versions(m.name)))) for m in store.list_models()]
    return _templates.TemplateResponse(request, "index.html", {"models": models})


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the app is up (its store opened, so the schema is at head)."""
    return {"status": "ok"}
