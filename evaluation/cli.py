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
    for name, why in record.get("not_computed", {}).items():
        table.add_row(name, f"not computed: {why}", "")
    console.print(table)
    console.print(f"evaluation set {record['evalset']['ref']} (sha256 {record['evalset']['sha256'][:16]}…)")
    colour = {"pass": "green", "fail": "red", "skip": "yellow"}
    for check in record["gate"]["checks"]:
        status = check.get("status", "pass" if check["passed"] else "fail")
        console.print(f"[{colour[status]}]{status}[/{colour[status]}] {check['rule']}  {check.get('reason', '')}")
    console.print(f"report: {record['report_uri']}")
    if promote:
        registered = register_task(record, config)
        if record["gate"]["passed"]:
            registered = promote_task(registered, config)
        console.print(f"registered {registered['model']} v{registered['model_version']} → {registered['alias']}")
    if not record["gate"]["passed"]:
        raise typer.Exit(1)


def build_set(
    ref: Annotated[str, typer.Argument(help="Evaluation set to publish, '<name>/<version>' (immutable).")],
    dataset: Annotated[
        str, typer.Argument(help="Curated dataset version '<name>/<version>' (its held-out clips).")
    ] = "",
    folder: Annotated[str, typer.Option(help="Instead of a dataset: a folder (path or store URI) of videos.")] = "",
    config: Annotated[str, typer.Option(help="Evaluation config name or YAML path.")] = "default",
) -> None:
    """Build an evaluation set: reference clips, captions, real-set FVD/FID statistics; prints URI and sha256."""
    from evaluation.api import build_evalset_task

    if bool(dataset) == bool(folder):
        raise typer.BadParameter("give either DATASET or --folder")
    built = build_evalset_task(ref, dataset=dataset, folder=folder, config=config)
    make_console().print(f"evaluation set {built['ref']}: {built['samples']} samples at {built['uri']} "
                         f"sha256 {built['sha256']}")
