"""Terminal output shared by the CLI commands: one console, one progress-bar style."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:
    from rich.progress import Progress, TextColumn

# Piped or redirected output is read by programs and people alike: never cut a field to fit an
# 80-column guess (a version name cut to `20261128…` cannot be passed to `promote`).
console = Console(highlight=False, width=None if sys.stdout.isatty() else 1_000)
err_console = Console(stderr=True, highlight=False)


def progress_bar(*extra_columns: TextColumn) -> Progress:
    # rich.progress is imported here: quick look-ups never draw a bar.
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        *extra_columns,
        console=err_console,
        transient=False,
    )
