"""The hostile audit, replayed: each case run as a real `fontpipe` process on inputs made here,
printed as a table of case, expected and got.

    python bench/audit.py

It asserts nothing (the tests do, case by case); it shows a person the whole audit at once.
The full-disk case mounts a small tmpfs and is reported as skipped where that is not allowed.
Cases by area live beside this file in `audit_*.py`, each with a `cases(audit)` function that
returns (name, expected, run) triples; `Audit` hands them the shared model and helpers.
"""

from __future__ import annotations

import importlib
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import print_table

FONTPIPE = str(Path(sys.executable).with_name("fontpipe"))


def fontpipe(*args: object, env: dict[str, str] | None = None) -> tuple[int, str, float]:
    started = time.monotonic()
    done = subprocess.run(
        [FONTPIPE, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )
    output = (done.stdout + done.stderr).strip()
    return done.returncode, output, time.monotonic() - started


def last_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip() and "━" not in line]
    tail = lines[-1] if lines else ""
    return ("Traceback! " if "Traceback" in output else "") + tail[:110]


def verdict(code: int, output: str) -> str:
    return f"rc {code}: {last_line(output)}"


@dataclass(frozen=True)
class Audit:
    """What every case module gets: a scratch directory, a trained version, and ways to run."""

    work: Path
    models: Path
    version: Path

    def fontpipe(self, *args: object, env: dict[str, str] | None = None) -> tuple[int, str]:
        code, output, _ = fontpipe(*args, env=env)
        return code, output

    def score(self, text: str | bytes, *extra: object, name: str = "in.csv") -> str:
        """Score `text` written to a file called `name`; the verdict line."""
        source = self.work / name
        source.write_bytes(text if isinstance(text, bytes) else text.encode())
        out = self.work / f"out-{next(_COUNTER)}.csv"
        code, output, _ = fontpipe("score", source, "--out", out, "--model", self.version, *extra)
        return verdict(code, output)

    def leftovers(self) -> list[str]:
        """Staging folders, .tmp-* files and lock files left in the scratch directory and /tmp."""
        left = [p.name for p in self.work.rglob(".*.parts")]
        left += [p.name for p in self.work.rglob(".tmp-*")]
        left += [p.name for p in Path(tempfile.gettempdir()).glob("fontpipe-*.lock")]
        return left


_COUNTER = itertools.count()
CASE_MODULES = ("audit_parsing", "audit_registry", "audit_scoring", "audit_output")


def main() -> None:
    rows: list[dict[str, str]] = []

    def case(name: str, expected: str, run: Callable[[], str]) -> None:
        try:
            got = run()
        except Exception as exc:  # the audit goes on; the row says what broke
            got = f"audit error: {type(exc).__name__}: {exc}"
        rows.append({"case": name, "expected": expected, "got": got})
        print(f"{name}: {got}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="fontpipe-audit-") as tmp:
        work = Path(tmp)
        models = work / "models"
        for setup in (
            ("generate", "--rows", "60000", "--sampling", "boundary", "--out", work / "ds"),
            ("train", "--dataset", work / "ds", "--epochs", "2", "--models-dir", models),
        ):
            code, output, _ = fontpipe(*setup)
            if code != 0:
                raise SystemExit(f"audit set-up failed: {last_line(output)}")
        version = next(p for p in models.iterdir() if not p.name.startswith("."))
        fontpipe("predict", "--model", version, "#000")  # builds the verified cube table

        def inverted_table() -> str:
            import numpy as np

            copy = work / "inverted" / version.name
            shutil.copytree(version, copy)
            np.save(copy / "cube.npy", np.float16(1) - np.load(copy / "cube.npy"))
            code, output, _ = fontpipe("predict", "--model", copy, "#ffffff")
            (row,) = [line for line in output.splitlines() if "#ffffff" in line]
            answer = "black" if "black" in row else "white"
            return f"rc {code}: answers {answer} on #ffffff"

        case("cube.npy inverted", "rebuilt from the model: black on #ffffff", inverted_table)

        def score(text: str | bytes, *extra: object, name: str = "in.csv") -> str:
            source = work / name
            source.write_bytes(text if isinstance(text, bytes) else text.encode())
            out = work / f"out-{len(rows)}.csv"
            code, output, _ = fontpipe("score", source, "--out", out, "--model", version, *extra)
            return verdict(code, output)

        case(
            "channels 1.0,1.0,1.0", "rc 2, asks for --scale", lambda: score("r,g,b\n1.0,1.0,1.0\n")
        )
        case(
            "train --lr inf",
            "rc 2, nothing saved",
            lambda: verdict(
                *fontpipe(
                    "train", "--dataset", work / "ds", "--lr", "inf", "--models-dir", work / "m2"
                )[:2]
            ),
        )
        noise = bytes(range(256)) * 12
        case(
            "binary bytes, quarantine",
            "rc 0, bad lines in the rejects file",
            lambda: score(b"r,g,b\n1,2,3\n" + noise + b"\n4,5,6\n", "--on-error", "quarantine"),
        )
        case(
            "binary bytes, fail",
            "rc 2, one line naming file and row",
            lambda: score(b"r,g,b\n1,2,3\n" + noise + b"\n4,5,6\n"),
        )
        case(
            "a 17 MB line",
            "rc 0, that row rejected",
            lambda: score(
                b"color\n#ffffff\n#" + b"a" * (17 << 20) + b"\n", "--on-error", "quarantine"
            ),
        )
        case("CR-only line endings", "rc 2, one line", lambda: score(b"r,g,b\r1,2,3\r"))
        case("duplicate columns r,g,b,r", "rc 2, one line", lambda: score("r,g,b,r\n1,2,3,4\n"))

        def mixed() -> str:
            import pyarrow as pa
            import pyarrow.parquet as pq

            folder = work / "mixed"
            folder.mkdir()
            (folder / "a.csv").write_text("r,g,b\n1,2,3\n")
            pq.write_table(
                pa.table({c: pa.array([1], pa.uint8()) for c in "rgb"}), folder / "b.parquet"
            )
            code, output, _ = fontpipe(
                "score", folder, "--out", work / "mixed.parquet", "--model", version
            )
            return verdict(code, output) + f"; written: {(work / 'mixed.parquet').exists()}"

        case("CSV + Parquet into .parquet", "rc 2 before any part runs, nothing written", mixed)

        def unreachable() -> str:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            (work / "one.csv").write_text("color\n#fff\n")
            code, output, seconds = fontpipe(
                "score",
                work / "one.csv",
                "--out",
                work / "d.csv",
                "--model",
                version,
                "--dask-address",
                f"tcp://127.0.0.1:{port}",
            )
            left = [p.name for p in work.glob(".d.csv*")] + [p.name for p in work.glob("d.csv*")]
            return f"{verdict(code, output)} in {seconds:.1f}s; left: {left or 'nothing'}"

        case("unreachable --dask-address", "rc 2 within seconds, nothing written", unreachable)

        def zero_byte_checkpoint() -> str:
            from fontpipe.data.datasets import open_dataset
            from fontpipe.registry.versions import checkpoint_dir
            from fontpipe.training.config import TrainConfig

            key = TrainConfig(epochs=1).run_key(open_dataset(work / "ds").fingerprint)
            backup = checkpoint_dir(work / "m3", key)
            backup.mkdir(parents=True)
            (backup / "checkpoint.json").write_bytes(b"")
            code, output, _ = fontpipe(
                "train", "--dataset", work / "ds", "--epochs", "1", "--models-dir", work / "m3"
            )
            warned = "set aside" in output
            return f"rc {code}; warned and set aside: {warned}"

        case("0-byte checkpoint", "rc 0, one-line warning, fresh start", zero_byte_checkpoint)
        case(
            "generate --rows 10**12",
            "rc 2 before writing",
            lambda: verdict(
                *fontpipe("generate", "--rows", str(10**12), "--out", work / "huge")[:2]
            ),
        )
        case(
            "serve without PREFECT_API_URL",
            "rc 2 with the two commands",
            lambda: verdict(*fontpipe("serve", env={"PREFECT_API_URL": ""})[:2]),
        )

        def txt_in_directory() -> str:
            folder = work / "txt"
            folder.mkdir()
            (folder / "a.csv").write_text("r,g,b\n1,2,3\n")
            (folder / "notes.txt").write_text("not a palette\n")
            code, output, _ = fontpipe(
                "score", folder, "--out", work / "txt.csv", "--model", version
            )
            read = (
                output.split("rows read")[1].split("│")[1].strip() if "rows read" in output else "?"
            )
            return f"rc {code}; rows read: {read}"

        case(".txt in an input directory", "rc 0, only a.csv read (1 row)", txt_in_directory)

        def full_disk() -> str:
            if os.geteuid() != 0 or sys.platform != "linux":
                return "skipped: needs Linux and root for a tmpfs"
            mount = work / "small"
            mount.mkdir()
            done = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True
            )
            if done.returncode:
                return f"skipped: {done.stderr.decode().strip()}"
            try:
                code, output, _ = fontpipe(
                    "generate", "--rows", "3000000", "--no-space-check", "--out", mount / "ds"
                )
                return verdict(code, output) + f"; left: {sorted(os.listdir(mount)) or 'nothing'}"
            finally:
                subprocess.run(["umount", "-l", str(mount)], check=False)

        case("disk full during generate", "rc 2, one line, nothing left", full_disk)

        def registry_pair() -> str:
            log = models / "promotions.jsonl"
            fontpipe("models", "promote", version.name, "--models-dir", models)
            entries = [json.loads(line) for line in log.read_text().splitlines()]
            return f"champion from the log: {entries[-1]['to'] == version.name}"

        case("registry pointer vs log", "the log is the one source of truth", registry_pair)

        audit = Audit(work=work, models=models, version=version)
        for module_name in CASE_MODULES:
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError:
                continue
            for name, expected, run in module.cases(audit):
                case(name, expected, run)

    print_table("the audit, replayed", rows, ["case", "expected", "got"])


if __name__ == "__main__":
    main()
