"""The audit's registry, export and label-import cases: the promotion log under hostile edits,
rollback, a held registry lock, exports onto what is already there, and writes where nothing
can be written. Each runs real `fontpipe` processes on a registry of copies of the audit's
trained version."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from audit import last_line, verdict

Case = tuple[str, str, Callable[[], str]]


def cases(audit: Any) -> list[Case]:
    return [*_log_cases(audit), *_lock_cases(audit), *_export_cases(audit), *_label_cases(audit)]


def _registry(audit: Any, name: str, rules: list[str]) -> tuple[Path, list[str]]:
    """A fresh registry of copies of the audit's version, one per rule given."""
    models = audit.work / name / "models"
    models.mkdir(parents=True)
    names = []
    for i, rule in enumerate(rules):
        version = f"2026050{i + 1}-000000-{rule[:2]}000{i}"
        shutil.copytree(audit.version, models / version, ignore=shutil.ignore_patterns("cube.*"))
        meta = json.loads((models / version / "metadata.json").read_text())
        meta.update(version=version, rule=rule)
        meta["dataset"]["rule"] = rule
        (models / version / "metadata.json").write_text(json.dumps(meta))
        names.append(version)
    return models, names


def _promote(audit: Any, models: Path, *versions: str) -> None:
    for version in versions:
        code, output = audit.fontpipe("models", "promote", version, "--models-dir", models)
        if code:
            raise RuntimeError(f"promote {version}: {last_line(output)}")


def _champion(audit: Any, models: Path, rule: str = "mean") -> tuple[int, str, str]:
    """(exit code, the champion's name or '-', the whole output) of `models show champion`."""
    code, output = audit.fontpipe(
        "models", "show", "champion", "--rule", rule, "--models-dir", models, "--json"
    )
    shown = next((line for line in output.splitlines() if line.startswith("{")), "")
    name = json.loads(shown)["version"] if shown else "-"
    return code, name, output


def _log_cases(audit: Any) -> list[Case]:
    def other_rule() -> str:
        models, (mean, wcag) = _registry(audit, "other-rule", ["mean", "wcag"])
        _promote(audit, models, mean, wcag)
        forged = {"at": None, "rule": "wcag", "from": wcag, "to": mean, "reason": "by hand"}
        with (models / "promotions.jsonl").open("a") as log:
            log.write(json.dumps(forged) + "\n")
        return verdict(
            *audit.fontpipe("predict", "#336699", "--rule", "wcag", "--models-dir", models)
        )

    def walk_back() -> str:
        models, (a, b, c) = _registry(audit, "walk-back", ["mean"] * 3)
        _promote(audit, models, a, b, c)
        seen = []
        for _ in range(2):
            audit.fontpipe("models", "rollback", "--rule", "mean", "--models-dir", models)
            seen.append({a: "A", b: "B", c: "C"}.get(_champion(audit, models)[1], "?"))
        code, output = audit.fontpipe(
            "models", "rollback", "--rule", "mean", "--models-dir", models
        )
        return f"champion {seen[0]}, then {seen[1]}; third: rc {code}: {last_line(output)}"

    def nothing_to_roll_back() -> str:
        models, _ = _registry(audit, "empty", ["mean"])
        return verdict(
            *audit.fontpipe("models", "rollback", "--rule", "wcag", "--models-dir", models)
        )

    def damaged(line: bytes, name: str) -> Callable[[], str]:
        def run() -> str:
            models, (a, b, c) = _registry(audit, f"damaged-{name}", ["mean"] * 3)
            _promote(audit, models, a, b)
            log = models / "promotions.jsonl"
            first, second = log.read_bytes().splitlines(keepends=True)
            log.write_bytes(first + line + b"\n" + second)
            code, current, output = _champion(audit, models)
            warned = "line 2" in output and "skipped" in output
            promoted = audit.fontpipe("models", "promote", c, "--models-dir", models)
            served = "B" if current == b else current
            return f"rc {code}, serves {served}, warned: {warned}; promote: {verdict(*promoted)}"

        return run

    expected = "rc 0 serving B, warning names line 2; promote rc 2 naming line 2"
    return [
        ("promotions.jsonl names another rule's version", "rc 2, names line 3", other_rule),
        ("rollback after A->B->C, three times", "B, then A, then rc 2 naming the rule", walk_back),
        ("rollback with no champion", "rc 2 naming the rule and registry", nothing_to_roll_back),
        ("promotions.jsonl: a JSON list line", expected, damaged(b"[1, 2]", "list")),
        ("promotions.jsonl: a line without `to`", expected, damaged(b'{"rule": "mean"}', "to")),
        ("promotions.jsonl: a non-UTF-8 byte", expected, damaged(b'{"to": "\xff"}', "utf8")),
        ("promotions.jsonl: a garbage middle line", expected, damaged(b"garbage", "garbage")),
    ]


HOLD = """
import sys, time
from pathlib import Path
from fontpipe.registry.lock import registry_lock

with registry_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _lock_cases(audit: Any) -> list[Case]:
    def held() -> str:
        models, (a,) = _registry(audit, "locked", ["mean"])
        script = audit.work / "hold.py"
        script.write_text(textwrap.dedent(HOLD))
        holder = subprocess.Popen(
            [sys.executable, str(script), models, "120"], stdout=subprocess.PIPE, text=True
        )
        try:
            assert holder.stdout is not None
            holder.stdout.readline()
            started = time.monotonic()
            code, output = audit.fontpipe("models", "promote", a, "--models-dir", models)
            waited = time.monotonic() - started
        finally:
            holder.kill()
            holder.wait()
        said = "waiting" in output
        named = f"pid {holder.pid}" in output and "hold.py" in output
        return f"rc {code} after {waited:.0f}s; said it waits: {said}; holder named: {named}"

    return [
        (
            "registry lock held for over 60 s",
            "says whom it waits for; rc 2 after 60 s naming pid and command",
            held,
        )
    ]


@contextlib.contextmanager
def _unwritable(folder: Path) -> Iterator[Path | None]:
    """A folder nobody may write to (a read-only tmpfs as root, mode 555 otherwise), or None."""
    folder.mkdir(parents=True)
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", folder])
    if done.returncode:
        yield None
        return
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _export_cases(audit: Any) -> list[Case]:
    def export(out: Path, fmt: str, *extra: str) -> str:
        return verdict(
            *audit.fontpipe("export", audit.version, "--format", fmt, "--out", out, *extra)
        )

    def onto_non_empty_directory() -> str:
        out = audit.work / "export-dir"
        out.mkdir()
        (out / "notes.txt").write_text("precious")
        refused = export(out, "savedmodel")
        kept = (out / "notes.txt").exists()
        forced = export(out, "savedmodel", "--force").split(":")[0]
        return f"{refused}; notes kept: {kept}; --force: {forced}; left: {_tmp(audit)}"

    def onto_file() -> str:
        out = audit.work / "export-file"
        out.write_text("a file")
        refused = export(out, "savedmodel")
        kept = out.is_file()
        forced = export(out, "savedmodel", "--force").split(":")[0]
        return f"{refused}; file kept: {kept}; --force: {forced}; left: {_tmp(audit)}"

    def onto_directory(fmt: str) -> Callable[[], str]:
        def run() -> str:
            out = audit.work / f"export-{fmt}-dir"
            out.mkdir()
            return f"{export(out, fmt)}; left: {_tmp(audit)}"

        return run

    def unwritable() -> str:
        with _unwritable(audit.work / "ro-export") as folder:
            if folder is None:
                return "skipped: cannot make an unwritable folder here"
            return export(folder / "model.json", "json")

    one_line = "rc 2, one line, nothing left"
    return [
        (
            "export savedmodel onto a non-empty directory",
            "rc 2, kept; --force rc 0",
            onto_non_empty_directory,
        ),
        ("export savedmodel onto a file", "rc 2, kept; --force rc 0; no .tmp-*", onto_file),
        ("export json onto a directory", one_line, onto_directory("json")),
        ("export onnx onto a directory", one_line, onto_directory("onnx")),
        ("export into an unwritable directory", "rc 2 naming the path", unwritable),
    ]


def _tmp(audit: Any) -> str:
    return ", ".join(p.name for p in audit.work.glob(".*.tmp-*")) or "nothing"


def _label_cases(audit: Any) -> list[Case]:
    def rows(n: int) -> str:
        return "".join(f"#{i:02x}{3 * i:02x}{7 * i % 256:02x},black\n" for i in range(n))

    def import_labels(text: str, out: Path) -> tuple[int, str]:
        source = audit.work / f"labels-{out.name}.csv"
        source.write_text("color,text\n" + text)
        return audit.fontpipe("import-labels", source, "--text-column", "text", "--out", out)

    def three_rows() -> str:
        return verdict(*import_labels(rows(3), audit.work / "three"))

    def one_based() -> str:
        out = audit.work / "labelled"
        import_labels("#ffffff,black\n#zzz,white\n" + rows(30), out)
        rejects = out.with_name(out.name + ".rejects.csv").read_text().splitlines()
        return f"reject: {rejects[1].split(',', 1)[1][:40]}"

    def unwritable() -> str:
        with _unwritable(audit.work / "ro-labels") as folder:
            if folder is None:
                return "skipped: cannot make an unwritable folder here"
            return verdict(*import_labels(rows(40), folder / "brand"))

    return [
        ("import-labels of 3 rows", "rc 2 naming the file", three_rows),
        ("import-labels reject rows", "1-based: #zzz is row 2", one_based),
        ("import-labels into an unwritable directory", "rc 2 naming the path", unwritable),
    ]
