"""``vidforge train``: train one stage, or all three in order, on a dataset version."""

from __future__ import annotations

from typing import Annotated

import typer


def train(
    dataset: Annotated[str, typer.Option(help="Dataset name.")],
    version: Annotated[str, typer.Option(help="Dataset version.")],
    run_id: Annotated[str | None, typer.Option(help="Run id; default: a new one.")] = None,
    stage: Annotated[
        list[str] | None, typer.Option(help="Stage(s) to run, in order; default: all three.")
    ] = None,
    init: Annotated[str | None, typer.Option(help="Initial weights (pipeline dir URI) for the first stage.")] = None,
    launcher: Annotated[str, typer.Option(help="Launcher: local, kubernetes, trainjob or ray.")] = "local",
) -> None:
    """Train one stage, or all three, on a dataset version; each stage initialises from the last."""
    from rich.table import Table

    from training.api import run_all_stages
    from training.config import STAGE_ORDER
    from vidforge.console import make_console
    from vidforge.ids import new_id
    from vidforge.settings import get_settings

    rid = run_id or new_id("run")
    results = run_all_stages(
        get_settings(), rid, dataset, version, stages=tuple(stage or STAGE_ORDER), init_uri=init, launcher=launcher
    )
    table = Table(title=f"run {rid}")
    for col in ("stage", "steps", "first loss", "last loss", "checkpoint"):
        table.add_column(col)
    for r in results:
        table.add_row(r.stage, str(r.steps), f"{r.first_loss:.4f}", f"{r.last_loss:.4f}", r.checkpoint_uri)
    make_console().print(table)
