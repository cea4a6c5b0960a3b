"""Helpers for the benchmark scripts: each case runs in a fresh process so peak RSS is its own."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM, not ru_maxrss: on Linux ru_maxrss survives exec, so a child
    started by a big parent would report the parent's peak."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_case(script: str, case: str, *args: str) -> dict[str, Any]:
    """Run `script --case CASE ARGS` in a child process; it prints one JSON line last."""
    done = subprocess.run(
        [sys.executable, script, "--case", case, *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        return {
            "case": case,
            "error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed",
        }
    return json.loads(done.stdout.strip().splitlines()[-1])


def emit(result: dict[str, Any]) -> None:
    print(json.dumps(result), flush=True)


def print_table(title: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title)
    for column in columns:
        table.add_column(column, justify="right")
    for row in rows:
        # Text, not markup: a case name or an error may hold brackets ("[/x]") as written.
        table.add_row(*(Text(_fmt(row.get(c))) for c in columns))
    # Wide enough that piping the output to a file cuts no figure.
    Console(width=160).print(table)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


MAKE_CUBE_MODEL = """
import sys
from pathlib import Path
from fontpipe.data.datasets import write_dataset
from fontpipe.data.generation import GenerateConfig
from fontpipe.model import ModelConfig
from fontpipe.training.config import TrainConfig
from fontpipe.training.train import train_version
from fontpipe.registry.versions import ensure_cube_table
work = Path(sys.argv[1])
dataset, _ = write_dataset(GenerateConfig(rows=20_000, sampling="cube", rule="wcag"), work / "ds")
config = TrainConfig(model=ModelConfig(architecture="channel-tables"))
version = train_version(dataset, config, work / "models")
ensure_cube_table(version)
print(version.path)
"""


def cube_model(work: Any) -> Any:
    """The retrain default's wcag model, its cube table built, made in a child process (so the
    bench process never loads TensorFlow: a child's peak RSS starts at its parent's)."""
    from pathlib import Path

    done = subprocess.run(
        [sys.executable, "-c", MAKE_CUBE_MODEL, str(work)],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(done.stdout.strip().splitlines()[-1])
