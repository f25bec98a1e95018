"""The simulation summary for a person: rich tables."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table


def print_summary(summary: dict, console: Console | None = None) -> None:
    console = console or Console()
    for section, values in summary.items():
        table = Table(title=section, show_header=False, title_justify="left")
        table.add_column("what", style="bold")
        table.add_column("value")
        for key, value in values.items():
            if isinstance(value, dict):
                value = ", ".join(f"{k}={v}" for k, v in value.items()) or "none"
            table.add_row(key, str(value))
        console.print(table)
