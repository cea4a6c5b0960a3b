"""The `fontpipe` command. Each command parses its options, calls one library function (or, for
the Prefect routes, one flow) and prints a summary. Imports are inside the commands, so a quick
look-up loads only what it uses.

The commands live in `cli.pipeline`, `cli.scoring` and `cli.models`; importing them registers them
on `app`.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

from cli import about, models, pipeline, scoring  # noqa: F401  (registers the commands)
from cli.base import app
from cli.console import err_console

__all__ = ["app", "main"]


def main() -> None:
    from flows.environment import apply_environment_defaults

    apply_environment_defaults()
    # A terminated command (`timeout`, a cancelled flow run, `docker stop`) unwinds like an
    # interrupted one, so its staging folders, `.tmp-*` files and locks are removed on the way out.
    signal.signal(signal.SIGTERM, _terminated)
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted; nothing half-written was left behind")
        sys.exit(130)


def _terminated(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    main()
