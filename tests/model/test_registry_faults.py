"""The promotion log under hostile edits, rollback that walks back, and a registry lock that
somebody else holds: each a one-line error or a warning naming the file and line, never a
traceback, and never a champion served from another rule."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from fontpipe.errors import FontpipeError
from fontpipe.registry.champions import (
    champion,
    champions,
    promote,
    promotion_history,
    rollback,
    rollback_target,
)
from fontpipe.registry.lock import HOLDER_FILE, lock_holder, registry_lock
from fontpipe.registry.retention import RetentionPolicy, prune_versions

FONTPIPE = str(Path(sys.executable).with_name("fontpipe"))


def make_versions(tiny_version, models, rules):
    """Copies of the tiny version, each labelled as trained on the given rule."""
    names = []
    for i, rule in enumerate(rules):
        name = f"2026040{i + 1}-000000-{rule[:2]}000{i}"
        shutil.copytree(tiny_version, models / name, ignore=shutil.ignore_patterns("cube.*"))
        meta = json.loads((models / name / "metadata.json").read_text())
        meta.update(version=name, rule=rule)
        meta["dataset"]["rule"] = rule
        (models / name / "metadata.json").write_text(json.dumps(meta))
        names.append(name)
    return names


@pytest.fixture
def models(tmp_path):
    path = tmp_path / "models"
    path.mkdir()
    return path


@pytest.fixture
def four(tiny_version, models):
    return make_versions(tiny_version, models, ["mean"] * 4)


def test_rollback_walks_back_one_champion_at_a_time(models, four):
    a, b, c, d = four
    for name in (a, b, c):
        promote(models, name)
    rollback(models, "mean")
    assert champion(models, "mean") == b
    rollback(models, "mean")  # used to swap b and c for ever
    assert champion(models, "mean") == a
    with pytest.raises(FontpipeError, match=rf"{a}, the mean champion .* no earlier mean"):
        rollback(models, "mean")
    promote(models, d)
    assert rollback_target(models, "mean") == a  # b and c were rolled back from
    history = promotion_history(models)
    assert [h["to"] for h in history] == [a, b, c, b, a, d]
    assert [bool(h.get("rollback")) for h in history] == [False] * 3 + [True] * 2 + [False]


def test_rollback_of_an_older_log_that_swapped(models, four):
    """A log written by the rollback that swapped two champions still walks back."""
    a, b, c, _ = four
    for name in (a, b, c):
        promote(models, name)
    rollback(models, "mean")  # c -> b
    log = models / "promotions.jsonl"
    swapped = {"at": None, "rule": "mean", "from": b, "to": c, "reason": f"rollback from {b}"}
    log.write_text(log.read_text() + json.dumps(swapped) + "\n")
    assert champion(models, "mean") == c
    rollback(models, "mean")
    assert champion(models, "mean") == a


def test_rollback_skips_a_version_deleted_since(models, four):
    a, b, c, _ = four
    for name in (a, b, c):
        promote(models, name)
    shutil.rmtree(models / b)
    assert rollback_target(models, "mean") == a
    rollback(models, "mean")
    assert champion(models, "mean") == a


def test_nothing_to_roll_back_names_the_rule_and_registry(models, four):
    with pytest.raises(FontpipeError, match=rf"no wcag champion in {models} to roll back from"):
        rollback(models, "wcag")
    with pytest.raises(FontpipeError, match=rf"no champion of any rule in {models}"):
        rollback(models)


def test_a_line_naming_another_rules_version_is_refused(tiny_version, models):
    mean, wcag = make_versions(tiny_version, models, ["mean", "wcag"])
    promote(models, mean)
    promote(models, wcag)
    log = models / "promotions.jsonl"
    forged = {"at": None, "rule": "wcag", "from": wcag, "to": mean, "reason": "edited by hand"}
    log.write_text(log.read_text() + json.dumps(forged) + "\n")
    message = rf"promotions.jsonl: line 3 names {mean}, a version of the mean rule, as the wcag"
    with pytest.raises(FontpipeError, match=message):
        champion(models, "wcag")
    with pytest.raises(FontpipeError, match=message):
        champions(models)
    code, output = run_fontpipe("predict", "#336699", "--rule", "wcag", "--models-dir", models)
    assert code == 2 and "line 3" in output and "Traceback" not in output, output
    assert len(output.strip().splitlines()) == 1, output


DAMAGED = {
    "a JSON list": b"[1, 2]",
    "no to": b'{"rule": "mean", "from": null, "reason": "x"}',
    "non-UTF-8": b'{"rule": "mean", "to": "\xff\xfe"}',
    "not JSON": b"this is not a promotion",
}
PROBLEMS = {
    "a JSON list": "is a JSON list, not a promotion object",
    "no to": "names no `to` version",
    "non-UTF-8": "is not UTF-8 text",
    "not JSON": "is not JSON",
}


@pytest.mark.parametrize("kind", list(DAMAGED))
def test_a_damaged_middle_line_is_skipped_by_readers_and_stops_writers(models, four, kind, caplog):
    a, b, c, _ = four
    promote(models, a)
    promote(models, b)
    log = models / "promotions.jsonl"
    first, second = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(first + DAMAGED[kind] + b"\n" + second)
    with caplog.at_level(logging.WARNING, logger="fontpipe"):
        assert champion(models, "mean") == b  # the last valid champion is still served
    assert f"{log}: line 2 {PROBLEMS[kind]}; skipped it" in caplog.text
    with pytest.raises(FontpipeError, match=rf"{log}: line 2 .*repair or delete it before"):
        promote(models, c)
    with pytest.raises(FontpipeError, match="line 2"):
        rollback(models, "mean")
    with pytest.raises(FontpipeError, match="before pruning"):
        prune_versions(models, RetentionPolicy(keep_versions=0))
    assert log.read_bytes() == first + DAMAGED[kind] + b"\n" + second  # nothing written
    log.write_bytes(first + second)  # repaired
    promote(models, c)
    assert champion(models, "mean") == c


def test_a_damaged_last_line_is_not_taken_for_a_torn_append(models, four):
    a, b, _, _ = four
    promote(models, a)
    log = models / "promotions.jsonl"
    log.write_bytes(log.read_bytes() + b'["garbage"]\n')  # complete, newline and all
    assert champion(models, "mean") == a
    with pytest.raises(FontpipeError, match="line 2"):
        promote(models, b)
    assert log.read_bytes().endswith(b'["garbage"]\n')  # never silently dropped


def test_a_last_line_missing_only_its_newline_is_kept(models, four):
    a, b, c, _ = four
    promote(models, a)
    promote(models, b)
    log = models / "promotions.jsonl"
    log.write_bytes(log.read_bytes().rstrip(b"\n"))
    assert champion(models, "mean") == b
    promote(models, c)  # the next entry starts on a line of its own
    assert [h["to"] for h in promotion_history(models)] == [a, b, c]
    log.write_bytes(log.read_bytes() + b'{"rule": "mean", "to": "2026')  # torn by a crash
    assert champion(models, "mean") == c
    rollback(models, "mean")
    assert [h["to"] for h in promotion_history(models)] == [a, b, c, b]


def test_models_commands_keep_serving_past_a_damaged_line(models, four):
    a, b, _, _ = four
    promote(models, a)
    promote(models, b)
    log = models / "promotions.jsonl"
    first, second = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(first + b"\xff\xfe\n" + second)
    code, output = run_fontpipe(
        "models", "show", "champion", "--rule", "mean", "--models-dir", models, "--json"
    )
    assert code == 0 and b in output and "Traceback" not in output, output
    assert f"{log}: line 2 is not UTF-8 text; skipped it" in output
    code, output = run_fontpipe("models", "promote", a, "--models-dir", models)
    assert code == 2 and "line 2" in output and "repair or delete" in output, output
    assert "Traceback" not in output


HOLD = """
import sys, time
from pathlib import Path
from fontpipe.registry.lock import registry_lock

with registry_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_a_held_lock_is_waited_for_visibly_and_names_its_holder(models, four, tmp_path, caplog):
    a = four[0]
    script = tmp_path / "hold.py"
    script.write_text(textwrap.dedent(HOLD))
    holder = subprocess.Popen(
        [sys.executable, str(script), str(models), "60"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert f"pid {holder.pid} on " in lock_holder(models) and "hold.py" in lock_holder(models)
        started = time.monotonic()
        with (
            caplog.at_level(logging.WARNING, logger="fontpipe"),
            pytest.raises(FontpipeError) as refused,
        ):
            promote(models, a, lock_timeout=2.5)
        assert 2.5 <= time.monotonic() - started < 10
        message = str(refused.value)
        assert message.startswith(f"{models / '.registry.lock'}: the registry is still locked")
        assert f"pid {holder.pid}" in message and "hold.py" in message and "after 2 s" in message
        assert "waiting" in caplog.text and f"pid {holder.pid}" in caplog.text
    finally:
        holder.kill()
        holder.wait()
    promote(models, a, lock_timeout=2.5)  # the kernel released the killed holder's lock
    assert champion(models, "mean") == a
    assert not (models / HOLDER_FILE).exists()  # a finished holder leaves no record


def test_a_stale_holder_record_is_not_blamed(models):
    with registry_lock(models):
        assert f"pid {os.getpid()}" in lock_holder(models)
    record = {"pid": 2**22 + 7, "host": os.uname().nodename, "command": "x", "since": "then"}
    (models / HOLDER_FILE).write_text(json.dumps(record))
    assert lock_holder(models) == "another process (it left no record of itself)"


def run_fontpipe(*args):
    done = subprocess.run([FONTPIPE, *map(str, args)], capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout + done.stderr
