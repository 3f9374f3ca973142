"""Process entry point of one training stage (local subprocess, Kubernetes pod, Ray task).

Usage::

    python -m training.main --stage stage2_video --run-id R --dataset demo \\
        --dataset-version v1 [--init URI] [--config settings.yaml] [--set steps=4 ...]

Settings come from :func:`vidforge.settings.get_settings` (``--config`` file,
``VIDFORGE_*`` environment). ``--set`` overrides fields of the stage config
(values parsed as YAML). Logs go to stderr; the last stdout line is the
result JSON — but callers should read ``result.json`` from the object store.
Exit status: 0 done, 2 bad arguments/config, 1 training failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from training.config import load_stage_config, parse_value
from vidforge.settings import parse_overrides


def parse_sets(pairs: list[str]) -> dict[str, Any]:
    """``["steps=4", "ema_decay=null"]`` → ``{"steps": 4, "ema_decay": None}``.

    Raises:
        ValueError: a pair has no ``=`` or an empty key.
    """
    return {key: parse_value(value) for key, value in parse_overrides(pairs).items()}


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(prog="python -m training.main", description="Run one SVD training stage.")
    p.add_argument("--stage", required=True, help="stage name (configs/training/<name>.yaml) or YAML path")
    p.add_argument("--run-id", required=True)
    p.add_argument("--dataset", required=True, help="dataset name")
    p.add_argument("--dataset-version", required=True)
    p.add_argument("--init", default=None, help="URI of a previous stage's final/ directory")
    p.add_argument("--config", default=None, help="platform settings YAML")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override a stage-config field (repeatable)")
    return p


def _quiet_libraries() -> None:
    """No model-hub access and no progress bars in a training process's log."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()


def main(argv: list[str] | None = None) -> int:
    """Run the stage; write the result JSON as the last stdout line; return the exit code."""
    from vidforge.logging import configure_logging, get_logger
    from vidforge.settings import get_settings

    args = build_parser().parse_args(argv)
    try:
        settings = get_settings(args.config)
        cfg = load_stage_config(args.stage, parse_sets(args.sets))
    except (ValueError, FileNotFoundError) as e:  # pydantic.ValidationError is a ValueError
        sys.stderr.write(f"error: {e}\n")
        return 2
    configure_logging(settings.log_level, settings.log_json)
    _quiet_libraries()
    from training.trainer import train_stage

    try:
        result = train_stage(cfg, settings, args.run_id, args.dataset, args.dataset_version, args.init)
    except Exception:
        get_logger(__name__).exception("stage failed", stage=cfg.name, run_id=args.run_id)
        return 1
    if int(os.environ.get("RANK", "0")) == 0:  # one result line per stage, from the main process
        sys.stdout.write(json.dumps(result.to_dict()) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
