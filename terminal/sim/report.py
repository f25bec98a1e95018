"""The simulation summary for a person: rich tables."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def print_summary(summary: dict, console: Console | None = None) -> None:
    console = console or Console()
    scalars = {k: v for k, v in summary.items() if not isinstance(v, dict)}
    if scalars:                                       # e.g. speech_judged: one table of such lines
        summary = {"run": scalars, **{k: v for k, v in summary.items() if isinstance(v, dict)}}
    for section, values in summary.items():
        if section == "selftest":
            console.print(_selftest_table(values))
            continue
        table = Table(title=section, show_header=False, title_justify="left")
        table.add_column("what", style="bold")
        table.add_column("value")
        for key, value in values.items():
            table.add_row(key, escape(_flat(value)))
        console.print(table)


def _selftest_table(units: dict) -> Table:
    table = Table(title="selftest", title_justify="left")
    for column in ("unit", "check", "result", "detail"):
        table.add_column(column)
    for unit, checks in units.items():
        for name, check in checks.items():
            result = "[green]passed[/]" if check["passed"] else "[bold red]FAILED[/]"
            table.add_row(unit, name, result, escape(check["detail"]))
    return table


def _flat(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={_flat(v)}" for k, v in value.items()) or "none"
    if isinstance(value, list):
        return "[" + ", ".join(map(_flat, value)) + "]"
    return str(value)
