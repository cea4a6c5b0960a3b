"""One door per pipeline step. Each module here (`generate`, `train`, `evaluate`, `score`,
`labels`, `export`, `retrain`) ends in one function, `run`, that takes typed config and returns a
typed result. It is the only place its step is put together from the stages below: the command
line parses and prints around it, the flows add retries, caching and artifacts around it, and the
Python API returns what it returns. None of them assembles a step again.

A module per step, so that a command imports only its own step's stages (start-up is part of the
interface). Progress goes out through plain callables: `Status`, a line saying where the step is,
and `RowsDone`, a count of rows finished; a caller draws a bar, logs, or ignores them.
"""

from __future__ import annotations

from collections.abc import Callable

Status = Callable[[str], None]
RowsDone = Callable[[int], None]


def silent(_: str) -> None:
    """A `Status` that says nothing."""
