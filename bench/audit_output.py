"""The audit's output cases: user text printed as written (rich markup and emoji codes in names),
user names escaped in the HTML report, and no lock file, staging folder or report folder left by
a generate or evaluate that ends, succeeds or fails."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from audit import FONTPIPE, Audit, last_line, verdict

HOSTILE = '</script><!--<script>"><img src=x onerror=document.body.dataset.pwned=1>'


def cases(audit: Audit) -> list[tuple[str, str, Callable[[], str]]]:
    return [
        (
            '--color-column "[bold]x[/bold]"',
            "rc 2, names the column [bold]x[/bold] as written",
            lambda: audit.score("color\n#fff\n", "--color-column", "[bold]x[/bold]"),
        ),
        (
            '--color-column "[/x]"',
            "rc 2, one line naming [/x] (no markup traceback)",
            lambda: audit.score("color\n#fff\n", "--color-column", "[/x]"),
        ),
        (
            "a file named [bold]x[/bold].csv",
            "rc 0, summary and rejects line name it as written",
            lambda: _markup_file_name(audit),
        ),
        (
            "a file named a:smile:.csv",
            "rc 2, the error names a:smile:.csv, no emoji",
            lambda: audit.score("color\n#zzz\n", name="a:smile:.csv"),
        ),
        (
            'export "[/x]" (a status line)',
            "rc 2, model '[/x]' not found",
            lambda: verdict(
                *audit.fontpipe(
                    "export", "[/x]", "--format", "json", "--out", audit.work / "x.json"
                )
            ),
        ),
        (
            "report for names holding </script><!--<script>",
            "one script, no injected element; the page's script runs",
            lambda: _hostile_report(audit),
        ),
        (
            "generate: ok, reused, refused",
            "no fontpipe-dataset-*.lock left",
            lambda: _generate_locks(audit),
        ),
        (
            "generate killed by SIGTERM",
            "rc 143, no staging, lock or dataset left",
            lambda: _terminated_generate(audit),
        ),
        (
            "evaluate failing after the report check",
            "rc 2, no report folder left",
            lambda: _late_evaluate_failure(audit),
        ),
    ]


def _markup_file_name(audit: Audit) -> str:
    folder = audit.work / "[bold]x["  # with "bold].csv" inside: "[bold]x[/bold].csv"
    folder.mkdir(exist_ok=True)
    source = folder / "bold].csv"
    source.write_text("color\n#ffffff\n#zzz\n")
    out = audit.work / "[bold]o.csv"
    code, output = audit.fontpipe(
        "score", source, "--out", out, "--model", audit.version, "--on-error", "quarantine"
    )
    literal = f"in {out}.rejects.csv" in output and str(out) in output
    return f"rc {code}; names as written: {literal}"


def _private_tmp(audit: Audit, name: str) -> Path:
    """A temporary directory of the case's own: other runs leave their lock files in /tmp."""
    folder = audit.work / name
    folder.mkdir(exist_ok=True)
    return folder


def _generate_locks(audit: Audit) -> str:
    tmp = _private_tmp(audit, "tmp-generate")
    env = {"TMPDIR": str(tmp)}
    out = audit.work / "locks-ds"
    codes = [audit.fontpipe("generate", "--rows", "2000", "--out", out, env=env)[0]]
    codes.append(audit.fontpipe("generate", "--rows", "2000", "--out", out, env=env)[0])
    other = audit.work / "locks-other"
    other.mkdir(exist_ok=True)
    (other / "notes.txt").write_text("not a dataset")
    codes.append(audit.fontpipe("generate", "--rows", "2000", "--out", other, env=env)[0])
    left = sorted(p.name for p in tmp.iterdir())
    return f"rc {codes}; locks left: {left or 'none'}"


def _terminated_generate(audit: Audit) -> str:
    tmp = _private_tmp(audit, "tmp-sigterm")
    root = audit.work / "sigterm"
    root.mkdir(exist_ok=True)
    process = subprocess.Popen(
        [
            FONTPIPE,
            "generate",
            "--rows",
            "60_000_000",
            "--rows-per-file",
            "500_000",
            "--out",
            str(root / "ds"),
        ],
        env={**os.environ, "TMPDIR": str(tmp)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not list(root.glob(".ds.tmp-*/split=train/part-*")) and time.monotonic() < deadline:
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    left = sorted(p.name for p in root.iterdir()) + sorted(p.name for p in tmp.iterdir())
    traceback = "Traceback" in stderr
    return f"rc {process.returncode}; traceback: {traceback}; left: {left or 'nothing'}"


def _human_version(audit: Audit, dataset: Path, models: Path) -> tuple[Path | None, str]:
    """A small human-label model trained on `dataset`; (its directory, or None and why)."""
    labels = audit.work / "labels.csv"
    lines = ["color,text"] + [
        f"#{r:02x}{g:02x}80,{'black' if r + g > 255 else 'white'}"
        for r in range(0, 256, 8)
        for g in range(0, 256, 16)
    ]
    labels.write_text("\n".join(lines) + "\n")
    for args in (
        ("import-labels", labels, "--text-column", "text", "--out", dataset),
        (
            "train",
            "--dataset",
            dataset,
            "--epochs",
            "1",
            "--prior",
            "wcag",
            "--prior-rows",
            "5000",
            "--hidden",
            "8,8",
            "--models-dir",
            models,
        ),
    ):
        code, output = audit.fontpipe(*args)
        if code:
            return None, verdict(code, output)
    return next(p for p in models.iterdir() if not p.name.startswith(".")), ""


def _hostile_report(audit: Audit) -> str:
    # A file name cannot hold "/": the dataset path spells `</script>` across two folders.
    dataset = audit.work / "a<" / HOSTILE.removeprefix("</")
    dataset.parent.mkdir(exist_ok=True)
    version, why = _human_version(audit, dataset, audit.work / "hostile-models")
    if version is None:
        return f"set-up failed: {why}"
    report = audit.work / "hostile-report" / "report.html"
    code, output = audit.fontpipe(
        "evaluate", "--model", version, "--report", report, "--no-baseline", "--models-dir",
        audit.work / "hostile-models",
    )  # fmt: skip
    if code:
        return verdict(code, output)
    html = report.read_text(encoding="utf-8")
    found = f"rc 0; <script> elements: {html.count('<script>')}; raw <img: {'<img src=x' in html}"
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        return found + "; no Chromium to run it"
    dom = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={audit.work / 'chromium'}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            report.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout
    ran = 'data-text-color="' in dom and "data-pwned" not in dom
    return found + f"; in Chromium the script ran, nothing injected: {ran}"


def _late_evaluate_failure(audit: Audit) -> str:
    dataset = audit.work / "late-ds"
    models = audit.work / "late-models"
    version, why = _human_version(audit, dataset, models)
    if version is None:
        return f"set-up failed: {why}"
    shutil.rmtree(dataset)  # its held-out labels are read after the report target is checked
    reports = audit.work / "late-reports"
    code, output = audit.fontpipe(
        "evaluate", "--model", version, "--report", reports / "v" / "report.html",
        "--no-baseline", "--models-dir", models,
    )  # fmt: skip
    return f"rc {code}: {last_line(output)[:70]}; report folder left: {reports.exists()}"


if __name__ == "__main__":
    sys.exit("run through bench/audit.py, which supplies the Audit")
