"""The console: a rich progress bar with steps, steps/s, ETA and the latest returns."""

from __future__ import annotations

from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

console = Console(stderr=True)  # progress, logs and errors
out = Console()  # results a user may pipe: tables and listings


@contextmanager
def silenced():
    """Nothing on the progress console inside the block: no progress bars, no evaluation
    lines (the conformance kit's runs, whose report is what the user reads)."""
    previous = console.quiet
    console.quiet = True
    try:
        yield
    finally:
        console.quiet = previous


def progress_bar(description: str) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=16),
        MofNCompleteColumn(),
        TextColumn("{task.fields[sps]:>5.0f} steps/s  eta"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[returns]}"),
        console=console,
        refresh_per_second=4,
    )


def format_returns(train_return: float | None, eval_return: float | None) -> str:
    parts = []
    if train_return is not None:
        parts.append(f"return {train_return:.1f}")
    if eval_return is not None:
        parts.append(f"eval {eval_return:.1f}")
    return "  ".join(parts)


def config_table(config: dict, sources: list[str]) -> Table:
    table = Table(title="resolved config" + (f" (from {', '.join(sources)})" if sources else " (defaults)"),
                  show_header=False, box=None, padding=(0, 2))
    for key, value in config.items():
        table.add_row(key, str(value))
    return table
