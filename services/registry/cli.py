"""``vidforge registry ...``: a typer app over the registry store.

Every command reads settings with :func:`vidforge.settings.get_settings` (so
``VIDFORGE_CONFIG`` and ``VIDFORGE_REGISTRY__DB_URL`` apply) and opens the
database at ``settings.registry.db_url``. Only ``upgrade`` migrates; every other
command refuses a database that is not at head. Changes are made as the identity
of the configured token (``VIDFORGE_REGISTRY__TOKEN``) under the same rules as
the HTTP API; the first admin token can be created without one. Registry errors
print one unwrapped line to stderr and exit with status 1.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from typing import Annotated

import typer
from rich.table import Table

from services.registry import db
from services.registry.entities import ModelVersion
from services.registry.errors import RegistryError
from services.registry.store import RegistryStore
from services.registry.tokens import principal_from
from vidforge.console import make_console, opened, print_error
from vidforge.identity import Principal
from vidforge.settings import get_settings

app = typer.Typer(help="Model registry: versions, aliases, approvals, audit.", no_args_is_help=True)
console = make_console()


def _store() -> AbstractContextManager[RegistryStore]:
    """A store on the configured DB; RegistryError → message on stderr and exit 1."""
    return opened(lambda: RegistryStore.from_settings(get_settings()), RegistryError)


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


def _who(store: RegistryStore) -> Principal:
    """The principal of the configured token (``VIDFORGE_REGISTRY__TOKEN``); exits 1 with a message if none."""
    return principal_from(store, get_settings().registry.token.get_secret_value(), "VIDFORGE_REGISTRY__TOKEN")


ExpectOpt = Annotated[
    str, typer.Option("--expect", help="the version the alias points at now, or 'none' if unset (compare-and-set)")
]


def _expected(value: str) -> int | None:
    if value.strip().lower() in ("none", "null", "unset", ""):
        return None
    if not value.isdigit():
        raise typer.BadParameter(f"--expect must be a version number or 'none', got {value!r}")
    return int(value)


@app.command("set-alias")
def set_alias(name: str, alias: str, version: int, expect: ExpectOpt) -> None:
    """Move ALIAS of model NAME to VERSION if it now points at --expect (protected aliases: approvers only)."""
    with _store() as store:
        store.set_alias(name, alias, version, _who(store), expected_version=_expected(expect))
        console.print(f"{name}:{alias} → v{version}")


@app.command()
def rollback(
    name: str,
    alias: str,
    version: int,
    expect: ExpectOpt,
    reason: Annotated[str, typer.Option(help="why (required; audited)")],
) -> None:
    """Move ALIAS of model NAME back to VERSION, a version it pointed at before."""
    with _store() as store:
        store.rollback(name, alias, version, _who(store), expected_version=_expected(expect), reason=reason)
        console.print(f"{name}:{alias} rolled back to v{version}")


@app.command("delete-alias")
def delete_alias(name: str, alias: str, expect: ExpectOpt) -> None:
    """Remove ALIAS from model NAME if it still points at --expect."""
    with _store() as store:
        store.delete_alias(name, alias, _who(store), expected_version=_expected(expect))
        console.print(f"{name}:{alias} deleted")


@app.command()
def approve(
    name: str,
    version: int,
    decision: Annotated[str, typer.Option(help="approved or rejected")] = "approved",
    comment: Annotated[str, typer.Option(help="why (required for a rejection)")] = "",
) -> None:
    """Record your decision on VERSION of model NAME (you may not review a version you registered)."""
    with _store() as store:
        made = store.add_approval(name, version, _who(store), decision, comment)
        console.print(f"{name} v{version}: {made.decision} by {made.approver}")


@app.command()
def tag(name: str, version: int, key: str, value: str) -> None:
    """Set tag KEY of VERSION of model NAME to VALUE (audited)."""
    with _store() as store:
        store.set_tag(name, version, key, value, _who(store))
        console.print(f"{name} v{version}: {key}={value}")


@app.command("protect")
def protect(
    name: str,
    aliases: Annotated[list[str], typer.Argument(help="the aliases to protect (replaces the list); none: no alias")],
) -> None:
    """Set which aliases of model NAME are protected (admin)."""
    with _store() as store:
        model = store.update_model(name, _who(store), protected_aliases=[a for a in aliases if a != "none"])
        console.print(f"{name}: protected aliases {', '.join(model.protected_aliases) or 'none'}")


audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("log")
def audit_log(
    name: Annotated[str | None, typer.Argument(help="only events of this model")] = None,
    limit: Annotated[int, typer.Option(help="how many events")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Show the audit log, newest first."""
    with _store() as store:
        events = store.audit_log(name, limit)
        if as_json:
            _print_json([e.to_dict() for e in events])
            return
        rows: list[list[object]] = [
            [e.id, e.at.strftime("%Y-%m-%d %H:%M:%S"), e.actor, e.action, e.name, e.version, e.details]
            for e in events
        ]
        columns = ["id", "at (UTC)", "actor", "action", "model", "version", "details"]
        console.print(_table("audit", columns, rows))


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the audit chain; exit 1 naming the first broken record."""
    with _store() as store:
        report = store.verify_audit()
    if not report.ok:
        print_error(f"audit chain broken at record {report.broken_id}: {report.reason} "
                    f"({report.checked} records intact before it)", code="audit_broken")
        raise typer.Exit(1)
    console.print(f"audit chain intact: {report.checked} records, head {report.head_hash}", highlight=False)


token_app = typer.Typer(help="API tokens: identities with a role.", no_args_is_help=True)
app.add_typer(token_app, name="token")


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="the identity's name (written in every record it makes)")],
    role: Annotated[str, typer.Option(help="viewer, operator, approver or admin")],
) -> None:
    """Create a token and print it once (the first admin token needs no identity)."""
    with _store() as store:
        configured = get_settings().registry.token.get_secret_value()
        who = principal_from(store, configured, "VIDFORGE_REGISTRY__TOKEN") if configured else None
        info, plain = store.create_token(name, role, who)
    make_console(stderr=True).print(f"token {info.name} ({info.role}) created; it is shown once, store it now:")
    typer.echo(plain)


@token_app.command("list")
def token_list(as_json: JsonOpt = False) -> None:
    """List tokens (names, roles, revocation; never values)."""
    with _store() as store:
        infos = store.list_tokens(_who(store))
    if as_json:
        _print_json([t.to_dict() for t in infos])
        return
    rows: list[list[object]] = [
        [t.name, t.role, t.created_by, t.created_at.strftime("%Y-%m-%d %H:%M"),
         t.revoked_at.strftime("%Y-%m-%d %H:%M") if t.revoked_at else ""] for t in infos
    ]
    console.print(_table("tokens", ["name", "role", "by", "created (UTC)", "revoked (UTC)"], rows))


@token_app.command("revoke")
def token_revoke(name: str) -> None:
    """Revoke token NAME; it stops working at once."""
    with _store() as store:
        store.revoke_token(name, _who(store))
    console.print(f"token {name} revoked")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8081,
) -> None:
    """Serve the registry HTTP API and page with uvicorn."""
    import uvicorn

    from services.registry.api import create_app

    uvicorn.run(create_app(get_settings()), host=host, port=port)
