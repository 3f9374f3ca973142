"""``vidforge demo``: the whole platform end to end on the embedded defaults.

It drives the system from the outside, the way an operator would: the real
Airflow DAGs (``airflow dags test`` executes real task instances against a
project-local SQLite Airflow), then the serving service as its own process over
HTTP. In production the three DAGs chain through Airflow assets; here each run
receives the previous one's outputs as conf, which is what the asset event
would carry. Results are read back from the object store, never from logs.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from vidforge.console import make_console
from vidforge.demo_steps import DemoContext, run_steps

console = make_console(stderr=True)


def demo(
    out_dir: Annotated[Path, typer.Option(help="Where inputs, logs, the video and summary go.")] = Path(
        "demo-output"
    ),
    dataset: Annotated[str, typer.Option(help="Dataset name.")] = "demo",
    keep_serving: Annotated[bool, typer.Option(help="Leave the service running at the end.")] = False,
) -> None:
    """Run the whole pipeline end to end through Airflow, then serve one job."""
    started = time.monotonic()
    ctx = DemoContext.create(out_dir.resolve(), dataset)
    summary: dict[str, Any] = run_steps(ctx, console, keep_serving=keep_serving)
    summary["elapsed_s"] = round(time.monotonic() - started, 1)
    path = ctx.out_dir / "summary.json"
    path.write_text(json.dumps(summary, indent=2))
    _print_summary(summary, path)


def _print_summary(summary: dict[str, Any], path: Path) -> None:
    from rich.table import Table

    table = Table(title="vidforge demo", show_header=False)
    table.add_row("dataset version", summary["dataset_version"])
    table.add_row(
        "clips in / kept / filtered / quarantined",
        f"{summary['clips_in']} / {summary['clips_kept']} / {summary['clips_filtered']} / "
        f"{summary['clips_quarantined']} (+{summary['sources_quarantined']} source(s) quarantined)",
    )
    for stage in summary["stages"]:
        table.add_row(
            stage["stage"],
            f"{stage['steps']} steps, loss {stage['first_loss']:.4f} → {stage['last_loss']:.4f}",
        )
    gate = summary["gate"]
    metrics = ", ".join(f"{k} {v:.3g}" for k, v in gate["metrics"].items() if k != "eval_samples")
    table.add_row("gate", ("PASS  " if gate["passed"] else "FAIL  ") + metrics)
    table.add_row("model version", f"{summary['model']} v{summary['model_version']} ({summary['alias']})")
    table.add_row("served video", summary["served_video"])
    table.add_row("report", summary["report"])
    table.add_row("elapsed", f"{summary['elapsed_s']} s")
    console.print(table)
    console.print(f"summary written to {path}")
