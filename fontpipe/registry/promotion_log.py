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
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fontpipe.errors import FontpipeError
from fontpipe.schema import DEFAULT_RULE

PROMOTIONS_FILE = "promotions.jsonl"
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
    if not path.exists():
        return PromotionLog(path, [], [])
    data = path.read_bytes()
    lines = data.split(b"\n")
    torn = lines.pop()  # b"" when the file ends with a newline, as a complete append leaves it
    entries: list[dict[str, Any]] = []
    damaged: list[DamagedLine] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        entry, problem = parse_entry(raw)
        if entry is None:
            damaged.append(DamagedLine(number, problem))
            continue
        entries.append(_with_rule(entry, rule_of, path, number))
    if torn.strip():
        entry, _ = parse_entry(torn)
        if entry is not None:  # complete but for its newline: a promotion all the same
            entries.append(_with_rule(entry, rule_of, path, len(lines) + 1))
    log = PromotionLog(path, entries, damaged)
    _warn(log)
    return log


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


def _warn(log: PromotionLog) -> None:
    for line in log.damaged:
        key = (str(log.path), line.number, line.problem)
        if key not in _reported:
            _reported.add(key)
            logger.warning(
                "%s: line %d %s; skipped it (each rule keeps its last valid champion)",
                log.path,
                line.number,
                line.problem,
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
