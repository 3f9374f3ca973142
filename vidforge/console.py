"""Rich consoles for every ``vidforge`` command line.

Messages are printed *soft-wrapped*: a line longer than the terminal is left to
the terminal to fold, never broken by rich with a hard newline, so a command or
path named in a message can be copied whole and output does not depend on the
terminal width or on how long a temporary path is. Tables still fit the width.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape


def make_console(*, stderr: bool = False) -> Console:
    """A console that never hard-wraps text (tables are still laid out to the width)."""
    return Console(stderr=stderr, soft_wrap=True)


def print_error(message: str, *, code: str | None = None, label: str = "error") -> None:
    """Print ``label (code): message`` to stderr on one unwrapped line; ``message`` is not markup."""
    head = f"[bold red]{escape(label)}[/bold red]" + (f" ({escape(code)})" if code else "")
    make_console(stderr=True).print(f"{head}: {escape(message)}", highlight=False)
