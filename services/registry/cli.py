"""``vidforge registry ...``: a typer app over the registry store.

Every command reads settings with :func:`vidforge.settings.get_settings` (so
``VIDFORGE_CONFIG`` and ``VIDFORGE_REGISTRY__DB_URL`` apply) and opens the
database at ``settings.registry.db_url``. Only ``upgrade`` migrates; every other
command refuses a database that is not at head. Registry errors print one line
to stderr and exit with status 1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.table import Table

from services.registry import db
from services.registry.entities import ModelVersion
from services.registry.errors import RegistryError
from services.registry.store import RegistryStore
from vidforge.console import make_console, print_error
from vidforge.settings import get_settings

app = typer.Typer(help="Model registry: versions, aliases, approvals, audit.", no_args_is_help=True)
console = make_console()


@contextmanager
def _store() -> Iterator[RegistryStore]:
    """A store on the configured DB; RegistryError → message on stderr and exit 1."""
    store: RegistryStore | None = None
    try:
        store = RegistryStore(get_settings().registry.db_url)
        yield store
    except RegistryError as exc:
        print_error(exc.message, code=exc.code)
        raise typer.Exit(1) from exc
    finally:
        if store is not None:
            store.dispose()


_FREE_TEXT = {"details", "metrics", "description", "comment", "value", "aliases", "dataset", "run"}
"""Columns that may wrap; identifiers (ids, names, actions, versions) are never split."""


def _table(title: str, columns: list[str], rows: list[list[object]]) -> Table:
    table = Table(title=title)
    for column in columns:
        table.add_column(column, no_wrap=column not in _FREE_TEXT)
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    return table


def _metrics(metrics: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.4g}" for k, v in sorted(metrics.items()))


def _versions_table(title: str, versions: list[ModelVersion]) -> Table:
    rows: list[list[object]] = [
        [
            v.version,
            ",".join(v.aliases),
            _metrics(v.metrics),
            v.dataset_version,
            v.run_id,
            v.parent_version,
            v.created_at.strftime("%Y-%m-%d %H:%M"),
            v.created_by,
        ]
        for v in versions
    ]
    columns = ["version", "aliases", "metrics", "dataset", "run", "parent", "created (UTC)", "by"]
    return _table(title, columns, rows)


@app.command()
def upgrade() -> None:
    """Migrate the registry database to the latest schema (creates it if empty)."""
    url = get_settings().registry.db_url
    db.upgrade(url)
    console.print(f"registry database at revision {db.current_revision(url)}")


JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts) instead of a table.")]


def _print_json(value: object) -> None:
    """JSON on stdout, never wrapped or styled."""
    typer.echo(json.dumps(value, indent=2, sort_keys=True))


@app.command()
def models(as_json: JsonOpt = False) -> None:
    """List registered models and their aliases."""
    with _store() as store:
        if as_json:
            _print_json([m.to_dict() for m in store.list_models()])
            return
        rows: list[list[object]] = [
            [m.name, ", ".join(f"{a}→v{n}" for a, n in sorted(m.aliases.items())), m.description]
            for m in store.list_models()
        ]
        console.print(_table("models", ["name", "aliases", "description"], rows))


@app.command()
def versions(name: str, as_json: JsonOpt = False) -> None:
    """List the versions of model NAME."""
    with _store() as store:
        if as_json:
            _print_json([v.to_dict() for v in store.list_versions(name)])
            return
        console.print(_versions_table(f"{name} versions", store.list_versions(name)))


@app.command()
def show(name: str, version: int, as_json: JsonOpt = False) -> None:
    """Show one version with its lineage and approvals."""
    with _store() as store:
        found = store.get_version(name, version)
        if as_json:
            _print_json({
                **found.to_dict(),
                "lineage": [v.version for v in store.lineage(name, version)],
                "approvals": [a.to_dict() for a in store.list_approvals(name, version)],
            })
            return
        fields = found.to_dict()
        fields["metrics"] = _metrics(found.metrics)
        fields["aliases"] = ", ".join(found.aliases)
        console.print(_table(f"{name} v{version}", ["field", "value"], [[k, v] for k, v in fields.items()]))
        console.print(_versions_table("lineage (newest first)", store.lineage(name, version)))
        approvals = store.list_approvals(name, version)
        rows: list[list[object]] = [
            [a.created_at.strftime("%Y-%m-%d %H:%M"), a.approver, a.decision, a.comment] for a in approvals
        ]
        console.print(_table("approvals", ["at (UTC)", "approver", "decision", "comment"], rows))


@app.command("set-alias")
def set_alias(
    name: str,
    alias: str,
    version: int,
    actor: Annotated[str, typer.Option(help="who moves the alias (audit log)")] = "cli",
) -> None:
    """Point ALIAS of model NAME at VERSION (creates or moves it)."""
    with _store() as store:
        store.set_alias(name, alias, version, actor=actor)
        console.print(f"{name}:{alias} → v{version}")


@app.command("delete-alias")
def delete_alias(
    name: str,
    alias: str,
    actor: Annotated[str, typer.Option(help="who deletes the alias (audit log)")] = "cli",
) -> None:
    """Remove ALIAS from model NAME."""
    with _store() as store:
        store.delete_alias(name, alias, actor=actor)
        console.print(f"{name}:{alias} deleted")


@app.command()
def approve(
    name: str,
    version: int,
    approver: Annotated[str, typer.Option(help="who decides")],
    decision: Annotated[str, typer.Option(help="approved or rejected")] = "approved",
    comment: Annotated[str, typer.Option(help="why")] = "",
) -> None:
    """Record an approval decision on VERSION of model NAME."""
    with _store() as store:
        made = store.add_approval(name, version, approver, decision, comment)
        console.print(f"{name} v{version}: {made.decision} by {made.approver}")


@app.command()
def audit(
    name: Annotated[str | None, typer.Argument(help="only events of this model")] = None,
    limit: Annotated[int, typer.Option(help="how many events")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Show the audit log, newest first."""
    with _store() as store:
        if as_json:
            _print_json([e.to_dict() for e in store.audit_log(name, limit)])
            return
        rows: list[list[object]] = [
            [e.id, e.at.strftime("%Y-%m-%d %H:%M:%S"), e.actor, e.action, e.name, e.version, e.details]
            for e in store.audit_log(name, limit)
        ]
        columns = ["id", "at (UTC)", "actor", "action", "model", "version", "details"]
        console.print(_table("audit", columns, rows))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8081,
) -> None:
    """Serve the registry HTTP API and page with uvicorn."""
    import uvicorn

    from services.registry.api import create_app

    uvicorn.run(create_app(get_settings()), host=host, port=port)
