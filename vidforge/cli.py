"""The ``vidforge`` command line.

Subcommands live in their own packages and are imported only when invoked, so
``vidforge --help`` stays fast and never imports torch. Global options apply to
every subcommand and to the processes it starts: ``--config`` becomes
``VIDFORGE_CONFIG`` and each ``--set a.b=c`` becomes ``VIDFORGE_A__B=c`` (so the
CLI beats the environment, which beats the file).
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from vidforge.logging import configure_logging
from vidforge.settings import get_settings, parse_overrides

#: name → ("module:attribute", one-line help). The attribute is a typer app or a function.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("vidforge.demo:demo", "Run the whole pipeline end to end through Airflow, then serve."),
    "synth": ("curation.cli:synth", "Write synthetic test videos with known ground truth."),
    "cuts": ("curation.cli:cuts", "Detect shot cuts in a video (first frame of each new shot)."),
    "curate": ("curation.cli:curate", "Curate videos into a versioned dataset."),
    "curate-cache-prune": ("curation.cli:curate_cache_prune", "Delete old generations of the curation resume cache."),
    "train": ("training.cli:train", "Train one stage, or all three, on a dataset version."),
    "evaluate": ("evaluation.cli:evaluate", "Evaluate a trained run, gate it, write the report."),
    "evalset": ("evaluation.cli:build_set", "Build a versioned evaluation set from held-out clips."),
    "registry": ("services.registry.cli:app", "Model registry: versions, aliases, approvals, audit."),
    "serve": ("services.serving.cli:serve_command", "Start the generation service."),
    "serving": ("services.serving.cli:app", "Generation service: job database, API tokens, cleanup."),
}


class LazyGroup(TyperGroup):
    """A command group that imports each subcommand's module on first use."""

    _describing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands or cmd_name not in COMMANDS:
            return self.commands.get(cmd_name)
        target, short_help = COMMANDS[cmd_name]
        if self._describing:  # listing for --help: no import needed
            return typer.core.TyperCommand(name=cmd_name, help=short_help)
        return _load(cmd_name, target, short_help)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._describing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._describing = False


def _load(name: str, target: str, short_help: str) -> Any:
    module_name, _, attr = target.partition(":")
    obj = getattr(importlib.import_module(module_name), attr)
    if isinstance(obj, typer.Typer):
        cmd = typer.main.get_command(obj)
    else:
        single = typer.Typer(add_completion=False)
        single.command(name=name, help=obj.__doc__ or short_help)(obj)
        cmd = typer.main.get_command(single)
    cmd.name = name
    return cmd


app = typer.Typer(
    cls=LazyGroup,
    help="vidforge: curate → train (3 stages) → evaluate → promote → serve video diffusion models.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def main(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="YAML settings file.", exists=True)
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override a setting: key.sub=value (repeatable).")
    ] = None,
) -> None:
    """Global options, applied to the environment so child processes inherit them."""
    if config is not None:
        os.environ["VIDFORGE_CONFIG"] = str(config.resolve())
    try:
        flat = _flatten(parse_overrides(set_ or []))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--set") from exc
    for key, value in flat.items():
        os.environ["VIDFORGE_" + key.upper()] = str(value)
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}__{key}" if prefix else key
        if isinstance(value, dict):
            out.update(_flatten(value, name))
        else:
            out[name] = value
    return out


if __name__ == "__main__":  # pragma: no cover
    app()
