"""vidforge.console: messages are never hard-wrapped, whatever the terminal width."""

from __future__ import annotations

import pytest

from vidforge.console import make_console, print_error


@pytest.mark.parametrize("columns", ["20", "80", "300"])
def test_print_error_is_one_unbroken_line(columns: str, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    path = "/tmp/" + "/".join(["a-rather-long-directory-name"] * 8) + "/registry.db"
    print_error(f"database {path} is empty: run `vidforge registry upgrade` [not markup]", code="schema_out_of_date")
    err = capsys.readouterr().err
    assert err == (f"error (schema_out_of_date): database {path} is empty: "
                   "run `vidforge registry upgrade` [not markup]\n")


def test_console_soft_wraps_text_but_lays_tables_out_to_the_width(monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.table import Table

    monkeypatch.setenv("COLUMNS", "30")
    console = make_console()
    with console.capture() as captured:
        console.print("x" * 100)
    assert captured.get() == "x" * 100 + "\n"
    table = Table("name", "note")
    table.add_row("a", "word " * 30)
    with console.capture() as captured:
        console.print(table)
    assert max(len(line) for line in captured.get().splitlines()) <= 30
