"""Start-up of a quick look-up: `fontpipe predict "#336699"` (a table, and `--json`) as a whole
process, against `python -c "import numpy, pyarrow"` run in turn with it (A B A B ...), on the
same machine in the same run. Target: at most 1.5x the baseline, median of the pairwise ratios.

    python bench/startup.py [--runs 15] [--data DIR]

`--data` names a data root whose registry has a readable champion; without it, one is made in a
temporary directory with the command itself (`generate`, `train --epochs 1`, `models promote`)
and removed afterwards. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FONTPIPE = str(Path(sys.executable).with_name("fontpipe"))
BASELINE = [sys.executable, "-c", "import numpy, pyarrow"]
LOOKUPS = {
    "predict (table)": [FONTPIPE, "predict", "#336699"],
    "predict --json": [FONTPIPE, "predict", "#336699", "--json"],
}


def whole_process(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system) of one run, by the kernel's own accounting."""
    start = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited with {child.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def make_champion(data: Path, env: dict[str, str]) -> None:
    """A small readable champion, made through the command line."""
    dataset = data / "datasets" / "startup"
    for step in (
        ["generate", "--rows", "20000", "--rule", "readable", "--out", str(dataset)],
        ["train", "--dataset", str(dataset), "--epochs", "1", "--device", "cpu"],
    ):
        subprocess.run([FONTPIPE, *step], env=env, check=True, capture_output=True)
    version = sorted(p.name for p in (data / "models").iterdir() if p.name[0].isdigit())[-1]
    subprocess.run(
        [FONTPIPE, "models", "promote", version], env=env, check=True, capture_output=True
    )
    # The first look-up builds the cube table; a look-up after a retrain finds it built.
    subprocess.run(LOOKUPS["predict (table)"], env=env, check=True, capture_output=True)


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}"


def measure(runs: int, env: dict[str, str]) -> None:
    print(f"{machine()}; {runs} runs of each, after one warm-up, in turn with the baseline")
    print(f"{'command':<18} {'wall s':>8} {'cpu s':>8} {'wall / base':>12} {'cpu / base':>11}")
    for name, command in LOOKUPS.items():
        for warm_up in (command, BASELINE):
            whole_process(warm_up, env)
        ours, base = [], []
        for _ in range(runs):
            ours.append(whole_process(command, env))
            base.append(whole_process(BASELINE, env))
        wall_ratio = statistics.median(o[0] / b[0] for o, b in zip(ours, base, strict=True))
        cpu_ratio = statistics.median(o[1] / b[1] for o, b in zip(ours, base, strict=True))
        for label, rows in (("baseline", base), (name, ours)):
            wall = statistics.median(row[0] for row in rows)
            cpu = statistics.median(row[1] for row in rows)
            ratios = f" {wall_ratio:>11.2f}x {cpu_ratio:>10.2f}x" if rows is ours else ""
            print(f"{label:<18} {wall:>8.3f} {cpu:>8.3f}{ratios}")
    print("medians; the ratios are medians of each run's ratio to the baseline run beside it")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--data", type=Path, help="a data root with a readable champion")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fontpipe-startup-") as scratch:
        data = args.data or Path(scratch)
        env = {**os.environ, "FONTPIPE_DATA": str(data)}
        if args.data is None:
            make_champion(data, env)
        measure(args.runs, env)


if __name__ == "__main__":
    main()
