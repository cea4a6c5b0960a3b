"""Reading `promotions.jsonl`, the registry's one source of truth, and what it says.

Each line is one JSON object: `at`, `rule`, `from`, `to`, `reason`, and `rollback: true` on the
entries a rollback wrote. What a line that is not such an object means:

- the last line, cut short by a crash mid-append (no newline after it), is no promotion: the
  pointer was never replaced after it;
- any other damaged line (not JSON, not UTF-8, a JSON list, no `to` version) is skipped by
  readers, with a warning naming the file and line, so every rule is still served its last valid
  champion. Writers refuse until the line is repaired or deleted: a damaged line may have been a
  promotion, and a promotion, rollback or prune built on a guess would make the log lie;
- a line naming a version of another rule as a rule's champion is refused whenever the log is
  read: serving it would answer one rule's question with another rule's model.

`decisions.jsonl` beside it records every retrain round's decision, promoted or not: a
`RetrainOutcome` as JSON with `at` and `stored` (False for a challenger identical to its
champion, which was not kept). It decides nothing (the champion is the promotion log's), so its
damaged lines are only skipped, with a warning. `fontpipe.registry.history` reads both logs as
one history. (This module loads no pydantic: a look-up reads the promotion log on every call.)
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fontpipe.errors import FontpipeError
from fontpipe.schema import DEFAULT_RULE

PROMOTIONS_FILE = "promotions.jsonl"
DECISIONS_FILE = "decisions.jsonl"
ROLLBACK_REASON = "rollback from "  # how rollbacks were told apart before they were marked
logger = logging.getLogger("fontpipe")
# Damaged lines already reported by this process: one command reads the log several times.
_reported: set[tuple[str, int, str]] = set()


@dataclass(frozen=True)
class DamagedLine:
    number: int  # 1-based line of the file
    problem: str


@dataclass(frozen=True)
class PromotionLog:
    path: Path
    entries: list[dict[str, Any]]  # valid entries, oldest first, each with its rule
    damaged: list[DamagedLine]

    def check_whole(self, action: str) -> None:
        """Refuse to change the registry over a damaged line (see the module's docstring)."""
        if self.damaged:
            first = self.damaged[0]
            more = f" (and {len(self.damaged) - 1} more)" if len(self.damaged) > 1 else ""
            raise FontpipeError(
                f"{self.path}: line {first.number} {first.problem}{more}; repair or delete it "
                f"before {action} (until then the line is skipped and each rule keeps its last "
                "valid champion)"
            )


def read_promotion_log(models_dir: Path, rule_of: Callable[[str], str | None]) -> PromotionLog:
    """The log's valid entries and its damaged lines. `rule_of(version)` is a version's rule from
    its metadata, or None for a version no longer in the registry; it fills in the rule of
    entries written before promotions recorded it, and checks the rule of those that do."""
    path = models_dir / PROMOTIONS_FILE
    numbered, damaged = _read_lines(path, parse_entry)
    entries = [_with_rule(entry, rule_of, path, number) for number, entry in numbered]
    log = PromotionLog(path, entries, damaged)
    _warn(log)
    return log


def _read_lines(
    path: Path, parse: Callable[[bytes], tuple[dict[str, Any] | None, str]]
) -> tuple[list[tuple[int, dict[str, Any]]], list[DamagedLine]]:
    """A JSON-lines log's valid entries with their line numbers, and its damaged lines. A last
    line cut short by a crash mid-append is neither: it was never written."""
    if not path.exists():
        return [], []
    lines = path.read_bytes().split(b"\n")
    torn = lines.pop()  # b"" when the file ends with a newline, as a complete append leaves it
    entries: list[tuple[int, dict[str, Any]]] = []
    damaged: list[DamagedLine] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        entry, problem = parse(raw)
        if entry is None:
            damaged.append(DamagedLine(number, problem))
        else:
            entries.append((number, entry))
    if torn.strip():
        entry, _ = parse(torn)
        if entry is not None:  # complete but for its newline: an entry all the same
            entries.append((len(lines) + 1, entry))
    return entries, damaged


def append_line(path: Path, entry: dict[str, Any], parse: Callable[[bytes], Any]) -> None:
    """Append `entry` as one line, flushed to disk. A last line cut short by a crash is dropped
    first, so the entry starts on a line of its own; a last line complete but for its newline
    is an entry, as readers take it, and is kept. Caller holds the registry lock."""
    if path.exists():
        data = path.read_bytes()
        if data and not data.endswith(b"\n"):
            start = data.rfind(b"\n") + 1
            with path.open("r+b") as log:
                if parse(data[start:])[0] is not None:
                    log.seek(len(data))
                    log.write(b"\n")
                else:
                    log.truncate(start)
    with path.open("a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\n")
        log.flush()
        os.fsync(log.fileno())


def parse_entry(raw: bytes) -> tuple[dict[str, Any] | None, str]:
    """One line as a promotion entry, or None and what is wrong with it."""
    try:
        entry = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None, "is not UTF-8 text"
    except json.JSONDecodeError:
        return None, "is not JSON"
    if not isinstance(entry, dict):
        return None, f"is a JSON {type(entry).__name__}, not a promotion object"
    if not isinstance(entry.get("to"), str) or not entry["to"]:
        return None, "names no `to` version"
    if not isinstance(entry.get("rule", ""), str) or not isinstance(entry.get("from") or "", str):
        return None, "has a `rule` or `from` that is not a name"
    return entry, ""


def _with_rule(
    entry: dict[str, Any], rule_of: Callable[[str], str | None], path: Path, number: int
) -> dict[str, Any]:
    actual = rule_of(entry["to"])
    if "rule" not in entry:
        # Written before promotions recorded their rule: a version deleted since was trained on
        # the only rule there was then, the default.
        return {**entry, "rule": actual or DEFAULT_RULE}
    if actual is not None and actual != entry["rule"]:
        raise FontpipeError(
            f"{path}: line {number} names {entry['to']}, a version of the {actual} rule, as the "
            f"{entry['rule']} champion; a rule's champion must be trained on that rule: repair "
            "or delete the line"
        )
    return entry


def _warn(log: PromotionLog, consequence: str = "each rule keeps its last valid champion") -> None:
    for line in log.damaged:
        key = (str(log.path), line.number, line.problem)
        if key not in _reported:
            _reported.add(key)
            logger.warning(
                "%s: line %d %s; skipped it (%s)",
                log.path,
                line.number,
                line.problem,
                consequence,
            )


def is_rollback(entry: dict[str, Any]) -> bool:
    return bool(entry.get("rollback")) or str(entry.get("reason") or "").startswith(ROLLBACK_REASON)


def champion_chain(entries: list[dict[str, Any]], rule: str) -> list[str]:
    """The champions of `rule` that a rollback walks back through, oldest first; the last is the
    champion. A promotion pushes its version; a rollback pops the version it rolled back from,
    so a version once rolled back from is never a rollback target again unless promoted again."""
    chain: list[str] = []
    for entry in entries:
        if entry["rule"] != rule:
            continue
        version = str(entry["to"])
        if not is_rollback(entry):
            if not chain or chain[-1] != version:
                chain.append(version)
            continue
        if chain:
            chain.pop()
        if version in chain:
            # Back to where the rollback landed (it skips versions deleted since).
            del chain[len(chain) - chain[::-1].index(version) :]
        else:
            chain.append(version)  # an older log's rollback that did not walk back
    return chain


def parse_decision(raw: bytes) -> tuple[dict[str, Any] | None, str]:
    """One line of `decisions.jsonl` as a retrain decision, or None and what is wrong with it."""
    try:
        entry = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None, "is not JSON text"
    if not isinstance(entry, dict):
        return None, f"is a JSON {type(entry).__name__}, not a decision object"
    if not all(isinstance(entry.get(key), str) for key in ("rule", "challenger", "reason")):
        return None, "names no `rule`, `challenger` or `reason`"
    if not isinstance(entry.get("promoted"), bool):
        return None, "says not whether it `promoted`"
    return entry, ""
