"""The model registry: which version is the champion, and the log of promotions.

Version directories belong to `fontpipe.registry.versions`; this module only moves the champion pointer
and keeps `promotions.jsonl`. `champion` is a small JSON file replaced atomically (write beside,
then rename), so readers see the old champion or the new one, never a torn write. Promotions
take a file lock, so concurrent retrain runs cannot interleave their read-compare-write.
"""

from __future__ import annotations

# filelock loads on first use: a look-up resolves champions but never takes the lock.
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fontpipe.atomic import write_json_atomic, write_text_atomic
from fontpipe.errors import FontpipeError
from fontpipe.records import Headline
from fontpipe.registry.promotion import (
    ChampionComparison,
    Decision,
    PromotionPolicy,
    decide_promotion,
)
from fontpipe.registry.versions import (
    ModelVersion,
    check_cube_table,
    is_version_dir,
    list_versions,
    open_version,
    read_evaluation,
    read_metadata,
    version_dir,
)
from fontpipe.schema import DEFAULT_RULE, HUMAN_PREFIX

CHAMPION_FILE = "champion"
PROMOTIONS_FILE = "promotions.jsonl"
LOCK_FILE = ".registry.lock"
CHAMPION = "champion"  # the reference that names the current champion


def champion(models_dir: Path, rule: str | None = None) -> str | None:
    """The champion of `rule`: its last promotion in `promotions.jsonl`, the registry's one
    source of truth. Each labelling rule has a champion of its own; with `rule` None, the most
    recently promoted champion of any rule.

    The pointer files (`champion-<rule>`) are derived from the log, written after each entry for
    people and tools that read one small file; the legacy `champion` pointer of a registry from
    before rules had champions of their own is only consulted while there is no log.
    """
    for entry in reversed(promotion_history(models_dir)):
        if rule is None or entry["rule"] == rule:
            return str(entry["to"])
    legacy = _legacy_pointer(models_dir)
    if legacy is not None and (rule is None or _rule_of(models_dir, legacy, {}) == rule):
        return legacy
    return None


def champions(models_dir: Path) -> dict[str, str]:
    """Every rule's champion."""
    found: dict[str, str] = {}
    for entry in promotion_history(models_dir):
        found[entry["rule"]] = str(entry["to"])
    legacy = _legacy_pointer(models_dir)
    if not found and legacy is not None:
        found[_rule_of(models_dir, legacy, {})] = legacy
    return found


def _legacy_pointer(models_dir: Path) -> str | None:
    pointer = models_dir / CHAMPION_FILE
    if not pointer.exists():
        return None
    try:
        return str(json.loads(pointer.read_text(encoding="utf-8"))["version"])
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise FontpipeError(f"{pointer}: corrupt champion pointer ({exc})") from None


def _rule_of(models_dir: Path, version: str, cache: dict[str, str]) -> str:
    """A version's rule, from its metadata. A version deleted before promotions recorded their
    rule was trained on the only rule there was then, the default."""
    if version not in cache:
        try:
            cache[version] = read_metadata(version_dir(models_dir, version)).rule
        except FontpipeError:
            cache[version] = DEFAULT_RULE
    return cache[version]


def resolve_model(reference: str, models_dir: Path, rule: str | None = None) -> Path:
    """`champion` (of `rule`), a version name, or a path to a version directory -> that
    directory."""
    if reference == CHAMPION:
        version = champion(models_dir, rule)
        if version is None:
            which = f"{rule} " if rule else ""
            how = (
                "train on its imported labels (`fontpipe train --dataset ...`) and promote a "
                "version (`fontpipe models promote <version>`)"
                if rule and rule.startswith(HUMAN_PREFIX)
                else "run `fontpipe retrain` (it trains a champion for every rule)"
            )
            raise FontpipeError(
                f"no {which}champion model in {models_dir} yet: {how}, or name another rule or "
                "a model version"
            )
        return version_dir(models_dir, version)
    candidate = Path(reference)
    if is_version_dir(candidate):
        return candidate
    if is_version_dir(version_dir(models_dir, reference)):
        return version_dir(models_dir, reference)
    known = ", ".join(list_versions(models_dir)[-5:]) or "none"
    raise FontpipeError(
        f"model {reference!r} not found (not a version in {models_dir} nor a version directory); recent versions: {known}"
    )


def promotion_history(models_dir: Path) -> list[dict[str, Any]]:
    """Every promotion, oldest first, each with its `rule` (filled in from the version's metadata
    for entries written before promotions recorded it). A last line cut short by a crash
    mid-append is no promotion: the pointer is only replaced after the line is complete."""
    path = models_dir / PROMOTIONS_FILE
    if not path.exists():
        return []
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    entries = []
    rules: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):
                break  # torn by a crash during the append
            raise FontpipeError(f"{path}: line {number} is not JSON; the log is damaged") from None
        entry.setdefault("rule", _rule_of(models_dir, str(entry["to"]), rules))
        entries.append(entry)
    return entries


def registry_lock(models_dir: Path, timeout: float = 60) -> Any:
    from filelock import FileLock  # only writers lock; look-ups need not import it

    models_dir.mkdir(parents=True, exist_ok=True)
    return FileLock(str(models_dir / LOCK_FILE), timeout=timeout)


def set_champion(
    models_dir: Path, version: str, reason: str, *, metrics: Headline | None = None
) -> dict[str, Any]:
    """Point the champion at `version` (verified first) and log the promotion. Caller holds the lock."""
    if not is_version_dir(version_dir(models_dir, version)):
        raise FontpipeError(f"model version {version!r} does not exist in {models_dir}")
    promoted = open_version(version_dir(models_dir, version))
    check_promotable(promoted, metrics)
    _migrate(models_dir)
    rule = promoted.rule
    previous = champion(models_dir, rule)
    entry = {
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "rule": rule,
        "from": previous,
        "to": version,
        "reason": reason,
        **({"metrics": metrics.model_dump()} if metrics else {}),
    }
    # The log entry first, flushed to disk: it is the promotion. A crash before the pointer is
    # replaced leaves a stale pointer that `champion()` never trusts over the log.
    log_path = models_dir / PROMOTIONS_FILE
    _end_torn_line(log_path)
    with log_path.open("a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\n")
        log.flush()
        os.fsync(log.fileno())
    write_json_atomic(
        models_dir / f"{CHAMPION_FILE}-{rule}", {"version": version, "since": entry["at"]}
    )
    return entry


def _migrate(models_dir: Path) -> None:
    """A registry from before rules had champions of their own: write each log entry's rule into
    the log (history kept whole) and retire the single `champion` pointer. Caller holds the lock."""
    log_path = models_dir / PROMOTIONS_FILE
    legacy = models_dir / CHAMPION_FILE
    if log_path.exists():
        raw = [line for line in log_path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if any('"rule"' not in line for line in raw):
            entries = promotion_history(models_dir)
            write_text_atomic(log_path, "".join(json.dumps(e) + "\n" for e in entries))
    elif legacy.exists():
        version = _legacy_pointer(models_dir)
        if version is not None:
            entry = {
                "at": None,
                "rule": _rule_of(models_dir, version, {}),
                "from": None,
                "to": version,
                "reason": "champion before per-rule champions",
            }
            write_text_atomic(log_path, json.dumps(entry) + "\n")
    if legacy.exists():
        legacy.unlink()


def _end_torn_line(log_path: Path) -> None:
    """Drop a last line cut short by a crash, so the next entry starts on a line of its own."""
    if not log_path.exists():
        return
    data = log_path.read_bytes()
    if data and not data.endswith(b"\n"):
        with log_path.open("r+b") as log:
            log.truncate(data.rfind(b"\n") + 1)


def check_promotable(version: ModelVersion, headline: Headline | None = None) -> None:
    """Refuse a version that must never become champion: a cube table that does not match its
    model (it would answer for another model), or non-finite recorded metrics (a diverged model).
    The model file itself was verified against its checksum by `open_version`."""
    check_cube_table(version)
    recorded: list[Any] = [
        value for split in version.metadata.metrics.values() for value in split.values()
    ]
    recorded += list((read_evaluation(version.path) or {}).values())
    if headline is not None:
        recorded += list(headline.model_dump().values())
    if any(isinstance(v, float) and not math.isfinite(v) for v in recorded):
        raise FontpipeError(
            f"{version.path}: its recorded metrics are NaN or infinite (a diverged model); "
            "refusing to promote it"
        )


def promote(models_dir: Path, version: str, reason: str = "promoted by hand") -> dict[str, Any]:
    """Make `version` the champion of its own rule."""
    with registry_lock(models_dir):
        if not is_version_dir(version_dir(models_dir, version)):
            raise FontpipeError(f"model version {version!r} does not exist in {models_dir}")
        rule = read_metadata(version_dir(models_dir, version)).rule
        if champion(models_dir, rule) == version:
            raise FontpipeError(f"{version} is already the {rule} champion")
        return set_champion(models_dir, version, reason)


def _rule_or_latest(models_dir: Path, rule: str | None) -> str | None:
    if rule is not None:
        return rule
    history = promotion_history(models_dir)
    return str(history[-1]["rule"]) if history else None


def rollback_target(models_dir: Path, rule: str | None = None) -> str | None:
    """The version `rollback` would make champion of `rule` (default: the rule promoted last):
    the one its current champion replaced."""
    rule = _rule_or_latest(models_dir, rule)
    current = champion(models_dir, rule)
    for entry in reversed(promotion_history(models_dir)):
        if entry["rule"] == rule and entry["to"] == current and entry["from"]:
            return str(entry["from"])
    return None


def rollback(models_dir: Path, rule: str | None = None) -> dict[str, Any]:
    """Make the champion of `rule` before the current one champion again."""
    with registry_lock(models_dir):
        rule = _rule_or_latest(models_dir, rule)
        current = champion(models_dir, rule)
        if current is None:
            raise FontpipeError("no champion to roll back from")
        target = rollback_target(models_dir, rule)
        if target is None:
            raise FontpipeError(f"{current} has no previous {rule} champion to roll back to")
        return set_champion(models_dir, target, f"rollback from {current}")


def identical_to_champion(models_dir: Path, challenger: ModelVersion) -> str | None:
    """The champion's name when `challenger` has exactly its weights (it would answer the same
    for every colour), else None."""
    current = champion(models_dir, challenger.rule)
    if current is None or current == challenger.name or challenger.metadata.weights_sha256 is None:
        return None
    other = read_metadata(version_dir(models_dir, current))
    return current if other.weights_sha256 == challenger.metadata.weights_sha256 else None


@dataclass(frozen=True)
class PromotionOutcome:
    decision: Decision
    previous_champion: str | None
    previous_headline: Headline | None  # the champion before, evaluated on the challenger's terms


def promote_if_better(
    models_dir: Path,
    challenger: ModelVersion,
    challenger_headline: Headline,
    champion_headline: Callable[[ModelVersion], Headline],
    policy: PromotionPolicy,
) -> PromotionOutcome:
    """Compare and promote as one step under the registry lock.

    `champion_headline(version)` evaluates a champion on the challenger's terms. It is called
    inside the lock, so a champion promoted by a concurrent run meanwhile is the one compared.
    """
    with registry_lock(models_dir):
        current = champion(models_dir, challenger.rule)
        current_headline = (
            None
            if current is None
            else champion_headline(open_version(version_dir(models_dir, current)))
        )
        decision = decide_promotion(challenger_headline, current_headline, policy)
        if decision.promote:
            set_champion(models_dir, challenger.name, decision.reason, metrics=challenger_headline)
        return PromotionOutcome(decision, current, current_headline)


def compare_with_champion(
    models_dir: Path,
    version: str,
    headline: Headline,
    rule: str,
    champion_headline: Callable[[ModelVersion], Headline],
    policy: PromotionPolicy,
) -> ChampionComparison:
    """What promotion would decide for `version` against its rule's champion, without
    promoting: for an evaluation's report."""
    current = champion(models_dir, rule)
    if current is None or current == version:
        reason = (
            f"this model is the champion of the {rule} rule"
            if current
            else f"the {rule} rule has no champion yet; a first model is promoted when it is sound"
        )
        return ChampionComparison(
            rule=rule,
            challenger=version,
            champion=current,
            challenger_metrics=headline,
            champion_metrics=None,
            promote=current is None,
            reason=reason,
            acted=False,
        )
    current_headline = champion_headline(open_version(version_dir(models_dir, current)))
    decision = decide_promotion(headline, current_headline, policy)
    return ChampionComparison(
        rule=rule,
        challenger=version,
        champion=current,
        challenger_metrics=headline,
        champion_metrics=current_headline,
        promote=decision.promote,
        reason=decision.reason,
        acted=False,
    )
