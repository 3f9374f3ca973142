"""``training.main`` arguments that carry a whole :class:`StageConfig` to a remote process.

A pod or a Ray worker has the packaged ``configs/training/*.yaml`` but not the
caller's files, so a stage travels as ``--stage <name>`` plus one
``--set key=value`` per field that differs from the packaged file. Values are
JSON (a subset of YAML), which ``training.main`` parses back exactly.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING

from training.config import CONFIG_DIR, load_stage_config
from training.launchers.base import TrainJob, main_args

if TYPE_CHECKING:
    from training.config import StageConfig


def stage_sets(stage: StageConfig) -> list[str]:
    """``key=value`` pairs turning the packaged config ``stage.name`` into ``stage``.

    Raises:
        ValueError: ``configs/training/<stage.name>.yaml`` does not exist.
    """
    if not (CONFIG_DIR / f"{stage.name}.yaml").is_file():
        raise ValueError(
            f"stage {stage.name!r} has no packaged config configs/training/{stage.name}.yaml; "
            "remote launchers start from a packaged stage"
        )
    base = load_stage_config(stage.name).to_yaml_dict()
    return [f"{k}={json.dumps(v)}" for k, v in stage.to_yaml_dict().items() if base.get(k) != v]


def remote_args(stage: StageConfig, job: TrainJob, settings_file: str | None = None) -> list[str]:
    """Arguments of ``python -m training.main`` in a process that sees only packaged configs.

    Args:
        stage: the (possibly overridden) stage config to run unchanged.
        job: run, dataset and init; its ``settings_file`` is replaced by ``settings_file``
            (a path valid where the process runs; None = its environment's ``VIDFORGE_CONFIG``).
    """
    args = main_args(stage.name, replace(job, settings_file=settings_file))
    for pair in stage_sets(stage):
        args += ["--set", pair]
    return args
