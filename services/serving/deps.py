"""Request dependencies as ``Annotated`` aliases; everything comes from the app's state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from services.serving.jobs import JobQueue
from services.serving.metrics import ServingMetrics
from services.serving.params import Limits
from services.serving.watcher import ModelWatcher
from vidforge.settings import Settings


@dataclass(frozen=True)
class ServingState:
    """The per-app objects ``create_app`` builds (``app.state.serving``)."""

    settings: Settings
    metrics: ServingMetrics
    watcher: ModelWatcher
    jobs: JobQueue


def get_state(request: Request) -> ServingState:
    """The app's :class:`ServingState`."""
    state: ServingState = request.app.state.serving
    return state


StateDep = Annotated[ServingState, Depends(get_state)]


def get_settings(state: StateDep) -> Settings:
    """The app's settings (override this in tests to change limits per request)."""
    return state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_watcher(state: StateDep) -> ModelWatcher:
    """The app's model watcher."""
    return state.watcher


def get_jobs(state: StateDep) -> JobQueue:
    """The app's job queue."""
    return state.jobs


def get_metrics(state: StateDep) -> ServingMetrics:
    """The app's metrics."""
    return state.metrics


def get_limits(settings: SettingsDep) -> Limits:
    """Request limits from ``settings.serving``."""
    return Limits(
        max_frames=settings.serving.max_frames,
        max_steps=settings.serving.max_steps,
        max_side=settings.serving.max_side,
    )


WatcherDep = Annotated[ModelWatcher, Depends(get_watcher)]
JobsDep = Annotated[JobQueue, Depends(get_jobs)]
MetricsDep = Annotated[ServingMetrics, Depends(get_metrics)]
LimitsDep = Annotated[Limits, Depends(get_limits)]
