"""``vidforge evaluate``: evaluate, gate, report — and optionally register and promote."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from vidforge.console import make_console


def evaluate(
    run_id: Annotated[str, typer.Argument(help="Training run id (runs/<run_id>/ in the store).")],
    config: Annotated[str, typer.Option(help="Evaluation config name or YAML path.")] = "default",
    promote: Annotated[bool, typer.Option(help="Register the version and promote it when the gate passes.")] = False,
) -> None:
    """Evaluate a trained run against the current champion, gate it, write the report."""
    from evaluation.api import evaluate_run_task, promote_task, register_task

    console = make_console()
    record = evaluate_run_task(run_id, config)
    table = Table(title=f"evaluation of {run_id}")
    for col in ("metric", "candidate", "champion"):
        table.add_column(col)
    for name, value in record["metrics"].items():
        champ = (record.get("champion") or {}).get(name)
        table.add_row(name, f"{value:.4g}", "—" if champ is None else f"{champ:.4g}")
    console.print(table)
    for check in record["gate"]["checks"]:
        console.print(("[green]pass[/green] " if check["passed"] else "[red]fail[/red] ") + check["rule"])
    console.print(f"report: {record['report_uri']}")
    if promote:
        registered = register_task(record, config)
        if record["gate"]["passed"]:
            registered = promote_task(registered, config)
        console.print(f"registered {registered['model']} v{registered['model_version']} → {registered['alias']}")
    if not record["gate"]["passed"]:
        raise typer.Exit(1)
