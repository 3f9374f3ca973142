"""Where a stage's outputs live in the object store, and its ``result.json``.

``runs/<run_id>/<stage>/`` holds ``step-<n>/`` checkpoints, ``final/`` (the
pipeline directory), ``metrics.jsonl`` and ``result.json``. ``result.json`` is
written last: its presence means the stage finished and ``final/`` is complete.
Launchers read results from the store, never from a process's stdout.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vidforge.store import ObjectStore


def run_prefix(run_id: str, stage: str) -> str:
    """Object-store prefix of one stage of a run: ``runs/<run_id>/<stage>``."""
    return f"runs/{run_id}/{stage}"


def result_key(run_id: str, stage: str) -> str:
    """Key of the stage's ``result.json``."""
    return f"{run_prefix(run_id, stage)}/result.json"


@dataclass(frozen=True)
class StageResult:
    """``result.json`` of a finished stage.

    Attributes:
        stage: stage name (``stage1_image`` …).
        run_id: the training run.
        steps: optimizer steps taken.
        first_loss / last_loss: batch-mean EDM loss at the first / last step (None for 0 steps).
        checkpoint_uri: URI of ``final/``, a pipeline directory loadable with
            ``training.model.load_pipeline`` (EMA weights where the stage has EMA).
        sha256: ``vidforge.digest.sha256_tree`` of ``final/`` (the registry digest).
        metrics_uri: URI of ``metrics.jsonl`` (one JSON object per logged step).
        dataset_name / dataset_version: the data trained on.
        init_uri: the ``final/`` URI the stage started from; None = built from config.
        elapsed_s: wall time of the stage in the training process, seconds.
    """

    stage: str
    run_id: str
    steps: int
    first_loss: float | None
    last_loss: float | None
    checkpoint_uri: str
    sha256: str
    metrics_uri: str
    dataset_name: str
    dataset_version: str
    init_uri: str | None
    elapsed_s: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the content of ``result.json``)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StageResult:
        """Build from ``result.json`` content; unknown keys are ignored (newer writers)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def write_result(store: ObjectStore, result: StageResult) -> str:
    """Publish ``result.json`` (do this last); return its URI."""
    data = json.dumps(result.to_dict(), indent=2).encode()
    return store.put_bytes(result_key(result.run_id, result.stage), data)


def read_result(store: ObjectStore, run_id: str, stage: str) -> StageResult:
    """Read a finished stage's result.

    Raises:
        FileNotFoundError: the stage has not published a result.
    """
    key = result_key(run_id, stage)
    if not store.exists(key):
        raise FileNotFoundError(f"no result for stage {stage} of run {run_id} at {store.uri(key)}")
    return StageResult.from_dict(json.loads(store.get_bytes(key)))
