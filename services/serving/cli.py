"""CLI entries the core mounts: ``vidforge serve`` and ``vidforge serving ...``.

``vidforge serving`` works on the job database at ``settings.serving.db_url``
with database access as its authority (like ``vidforge registry token
create`` for the first admin): ``upgrade`` migrates it, ``token`` manages the
service's scoped API tokens, ``cleanup`` runs one pass of the cleanup task.
Errors print one unwrapped line to stderr and exit with status 1.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Annotated

import typer

from vidforge.console import make_console, opened

if TYPE_CHECKING:
    from services.serving.store import JobStore
    from vidforge.settings import Settings

app = typer.Typer(help="Generation service: job database, API tokens, cleanup.", no_args_is_help=True)
token_app = typer.Typer(help="Scoped API tokens of the generation service.", no_args_is_help=True)
app.add_typer(token_app, name="token")
CLI_ACTOR = "cli (database access)"
DEFAULT_SCOPES = "jobs:submit,jobs:read"


def serve(settings: Settings) -> None:
    """Start the generation service (blocks until interrupted).

    Follows ``settings.serving.alias`` of ``settings.registry.model_name`` through the
    registry API at ``settings.registry.url`` (as ``settings.registry.token``);
    keeps jobs in ``settings.serving.db_url``; listens on ``settings.serving.host:port``.
    """
    from services.serving.main import run

    run(settings)


def serve_command() -> None:
    """Start the generation service; follows the production alias through the registry's API."""
    from vidforge.settings import get_settings

    serve(get_settings())


def _store() -> AbstractContextManager[JobStore]:
    """A store on the configured job database; ServingError → message on stderr and exit 1."""
    from services.serving.errors import ServingError
    from services.serving.store import JobStore
    from vidforge.settings import get_settings

    return opened(lambda: JobStore.from_settings(get_settings()), ServingError)


@app.command()
def upgrade() -> None:
    """Migrate the job database to the latest schema (creates it if empty)."""
    from services.serving import db
    from vidforge.settings import get_settings

    url = get_settings().serving.db_url
    db.upgrade(url)
    make_console().print(f"serving database at revision {db.current_revision(url)}")


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="the caller's name (jobs are owned by it)")],
    scopes: Annotated[str, typer.Option(help="comma-separated: jobs:submit, jobs:read, admin")] = DEFAULT_SCOPES,
) -> None:
    """Create a token and print it once on stdout."""
    with _store() as store:
        info, plain = store.create_token(name, scopes, CLI_ACTOR)
    make_console(stderr=True).print(f"token {info.name} ({', '.join(info.scopes)}) created; it is shown once:")
    typer.echo(plain)


@token_app.command("list")
def token_list(as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """List tokens (names, scopes, revocation; never values)."""
    with _store() as store:
        infos = store.list_tokens()
    if as_json:
        typer.echo(json.dumps([i.to_dict() for i in infos], indent=2))
        return
    for i in infos:
        revoked = f" revoked {i.revoked_at:%Y-%m-%d %H:%M}" if i.revoked_at else ""
        make_console().print(f"{i.name}  {','.join(i.scopes)}  by {i.created_by}{revoked}", highlight=False)


@token_app.command("revoke")
def token_revoke(name: str) -> None:
    """Revoke token NAME; it stops working at once."""
    with _store() as store:
        store.revoke_token(name)
    make_console().print(f"token {name} revoked")


@app.command()
def cleanup() -> None:
    """One pass of the cleanup task: recover lost jobs, delete expired and orphaned results."""
    from services.serving.maintenance import Maintenance
    from services.serving.metrics import ServingMetrics
    from services.serving.results import ResultStore
    from vidforge.settings import get_settings
    from vidforge.store import open_store

    settings = get_settings()
    with _store() as store:
        results = ResultStore(open_store(settings.store), settings.serving.results_prefix)
        report = Maintenance(store, results, ServingMetrics(), interval_s=settings.serving.cleanup_interval_s,
                             max_attempts=settings.serving.max_attempts).run_once()
    make_console().print(
        f"requeued {len(report.requeued)}, failed {len(report.failed)}, cancelled {len(report.cancelled)}, "
        f"expired {len(report.expired)}, orphans {len(report.orphans)}"
    )
