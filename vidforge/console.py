"""Rich consoles for every ``vidforge`` command line.

Messages are printed *soft-wrapped*: a line longer than the terminal is left to
the terminal to fold, never broken by rich with a hard newline, so a command or
path named in a message can be copied whole and output does not depend on the
terminal width or on how long a temporary path is. Tables still fit the width.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from rich.console import Console
from rich.markup import escape

T = TypeVar("T")


def make_console(*, stderr: bool = False) -> Console:
    """A console that never hard-wraps text (tables are still laid out to the width)."""
    return Console(stderr=stderr, soft_wrap=True)


def print_error(message: str, *, code: str | None = None, label: str = "error") -> None:
    """Print ``label (code): message`` to stderr on one unwrapped line; ``message`` is not markup."""
    head = f"[bold red]{escape(label)}[/bold red]" + (f" ({escape(code)})" if code else "")
    make_console(stderr=True).print(f"{head}: {escape(message)}", highlight=False)


@contextmanager
def opened(factory: Callable[[], T], errors: type[Exception]) -> Iterator[T]:
    """Open a disposable resource for a CLI command; ``errors`` become one line on stderr and exit 1.

    ``factory`` builds the resource (a store on the configured database, say); it
    is disposed when the command ends. An exception of type ``errors`` (a
    service's error base, carrying ``message`` and ``code``) raised while opening
    or using it is printed with :func:`print_error` and ends the command with
    exit status 1.
    """
    import typer

    resource: Any = None
    try:
        resource = factory()
        yield resource
    except errors as exc:
        print_error(getattr(exc, "message", str(exc)), code=getattr(exc, "code", None))
        raise typer.Exit(1) from exc
    finally:
        if resource is not None:
            resource.dispose()
