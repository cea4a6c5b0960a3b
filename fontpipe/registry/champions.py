"""The model registry: which version is the champion, and the log of promotions.

Version directories belong to `fontpipe.registry.versions`; this module only moves the champion pointer
and appends to `promotions.jsonl` and to `decisions.jsonl`, the record of every retrain round
(both read, and their damaged lines judged, by `fontpipe.registry.promotion_log`). `champion` is a small JSON file replaced atomically (write
beside, then rename), so readers see the old champion or the new one, never a torn write.
Promotions take the registry lock (`fontpipe.registry.lock`), so concurrent retrain runs cannot
interleave their read-compare-write.
"""

from __future__ import annotations

# fontpipe.storage (pyarrow's filesystems) loads on first use: only a registry on a store needs it.
import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fontpipe.atomic import write_json_atomic, write_text_atomic
from fontpipe.errors import FontpipeError
from fontpipe.records import Headline
from fontpipe.registry.elsewhere import VERSIONS, fetch_version
from fontpipe.registry.lock import REGISTRY_LOCK_TIMEOUT
from fontpipe.registry.lock import registry_lock as registry_lock  # where callers found it
from fontpipe.registry.promotion import (
    ChampionComparison,
    Decision,
    PromotionPolicy,
    RetrainOutcome,
    decide_promotion,
)
from fontpipe.registry.promotion_log import (
    DECISIONS_FILE,
    PromotionLog,
    append_line,
    champion_chain,
    parse_decision,
    parse_entry,
    read_promotion_log,
)
from fontpipe.registry.promotion_log import PROMOTIONS_FILE as PROMOTIONS_FILE
from fontpipe.registry.versions import (
    ModelVersion,
    check_cube_table,
    is_version_dir,
    list_versions,
    open_version,
    read_evaluation,
    read_metadata,
    store_location,
    version_dir,
)
from fontpipe.schema import DEFAULT_RULE, HUMAN_PREFIX
from fontpipe.user_cache import private_cache

CHAMPION_FILE = "champion"
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
    if legacy is not None and (rule is None or _rule_of(models_dir, legacy) == rule):
        return legacy
    return None


def champions(models_dir: Path) -> dict[str, str]:
    """Every rule's champion."""
    found: dict[str, str] = {}
    for entry in promotion_history(models_dir):
        found[entry["rule"]] = str(entry["to"])
    legacy = _legacy_pointer(models_dir)
    if not found and legacy is not None:
        found[_rule_of(models_dir, legacy)] = legacy
    return found


def _legacy_pointer(models_dir: Path) -> str | None:
    pointer = models_dir / CHAMPION_FILE
    if not pointer.exists():
        return None
    try:
        return str(json.loads(pointer.read_text(encoding="utf-8"))["version"])
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise FontpipeError(f"{pointer}: corrupt champion pointer ({exc})") from None


def _rule_of(models_dir: Path, version: str) -> str:
    """A version's rule, from its metadata. A version deleted before promotions recorded their
    rule was trained on the only rule there was then, the default."""
    return _version_rules(models_dir)(version) or DEFAULT_RULE


def _version_rules(models_dir: Path) -> Callable[[str], str | None]:
    """version -> its rule from its metadata, or None when it is gone (pruned) or unreadable;
    each version read once per log read."""
    known: dict[str, str | None] = {}

    def rule_of(version: str) -> str | None:
        if version not in known:
            try:
                known[version] = read_metadata(version_dir(models_dir, version)).rule
            except (FontpipeError, OSError, ValueError):
                known[version] = None
        return known[version]

    return rule_of


def read_log(models_dir: Path) -> PromotionLog:
    """`promotions.jsonl` as read by `fontpipe.registry.promotion_log`: its valid entries, each
    with its rule, and its damaged lines (warned about, and skipped)."""
    return read_promotion_log(models_dir, _version_rules(models_dir))


def resolve_model(reference: str, models_dir: Path, rule: str | None = None) -> Path:
    """`champion` (of `rule`), a version name, or a path to a version directory -> that
    directory. A registry or a version on a store (a URL) is read into the local version cache,
    verified, and that directory returned (fontpipe.registry.elsewhere.fetch_version)."""
    version_url = store_location(reference)
    if version_url is not None:
        return fetch_version(version_url)
    models_url = store_location(models_dir)
    if models_url is not None:
        return _resolve_on_store(reference, models_url, rule)
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


def _resolve_on_store(reference: str, models_url: str, rule: str | None) -> Path:
    """`resolve_model` for a registry on a store, read only: its promotion log and pointer are
    copied into a local mirror (read as any registry's), then the named version is fetched."""
    from fontpipe import storage

    name = reference
    if reference == CHAMPION:
        mirror = _mirror_pointers(models_url)
        found = champion(mirror, rule)
        if found is None:
            which = f"{rule} " if rule else ""
            raise FontpipeError(
                f"no {which}champion model in {models_url}: promote one in a local registry and "
                "copy it to the store, or name a model version"
            )
        name = found
    if "/" in name or name.startswith("."):
        raise FontpipeError(f"model {reference!r}: not a version name in {models_url}")
    return fetch_version(storage.join(models_url, name))


def _mirror_pointers(models_url: str) -> Path:
    """The store registry's `promotions.jsonl` and legacy `champion` pointer, as they are now,
    in a local directory of their own."""
    from fontpipe import storage

    digest = hashlib.sha256(models_url.encode()).hexdigest()[:16]
    mirror = private_cache(VERSIONS) / "registries" / digest
    mirror.mkdir(parents=True, exist_ok=True)
    for name in (PROMOTIONS_FILE, CHAMPION_FILE):
        url = storage.join(models_url, name)
        if storage.exists(url):
            write_text_atomic(mirror / name, storage.read_bytes(url).decode("utf-8", "replace"))
        else:
            (mirror / name).unlink(missing_ok=True)
    return mirror


def promotion_history(models_dir: Path) -> list[dict[str, Any]]:
    """Every valid promotion, oldest first, each with its `rule` (filled in from the version's
    metadata for entries written before promotions recorded it). A last line cut short by a
    crash mid-append is no promotion: the pointer is only replaced after the line is complete."""
    return read_log(models_dir).entries


def set_champion(
    models_dir: Path,
    version: str,
    reason: str,
    *,
    metrics: Headline | None = None,
    rollback: bool = False,
) -> dict[str, Any]:
    """Point the champion at `version` (verified first) and log the promotion. Caller holds the lock."""
    if not is_version_dir(version_dir(models_dir, version)):
        raise FontpipeError(f"model version {version!r} does not exist in {models_dir}")
    promoted = open_version(version_dir(models_dir, version))
    check_promotable(promoted, metrics)
    read_log(models_dir).check_whole("promoting or rolling back")
    _migrate(models_dir)
    rule = promoted.rule
    previous = champion(models_dir, rule)
    entry = {
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "rule": rule,
        "from": previous,
        "to": version,
        "reason": reason,
        **({"rollback": True} if rollback else {}),
        **({"metrics": metrics.model_dump()} if metrics else {}),
    }
    # The log entry first, flushed to disk: it is the promotion. A crash before the pointer is
    # replaced leaves a stale pointer that `champion()` never trusts over the log.
    append_line(models_dir / PROMOTIONS_FILE, entry, parse_entry)
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
        raw = [line for line in log_path.read_bytes().splitlines() if line.strip()]
        if any(b'"rule"' not in line for line in raw):
            entries = promotion_history(models_dir)
            write_text_atomic(log_path, "".join(json.dumps(e) + "\n" for e in entries))
    elif legacy.exists():
        version = _legacy_pointer(models_dir)
        if version is not None:
            entry = {
                "at": None,
                "rule": _rule_of(models_dir, version),
                "from": None,
                "to": version,
                "reason": "champion before per-rule champions",
            }
            write_text_atomic(log_path, json.dumps(entry) + "\n")
    if legacy.exists():
        legacy.unlink()


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


def promote(
    models_dir: Path,
    version: str,
    reason: str = "promoted by hand",
    *,
    metrics: Headline | None = None,
    lock_timeout: float = REGISTRY_LOCK_TIMEOUT,
) -> dict[str, Any]:
    """Make `version` the champion of its own rule; `metrics`, its evaluation, go in the log."""
    with registry_lock(models_dir, lock_timeout):
        if not is_version_dir(version_dir(models_dir, version)):
            raise FontpipeError(f"model version {version!r} does not exist in {models_dir}")
        rule = read_metadata(version_dir(models_dir, version)).rule
        if champion(models_dir, rule) == version:
            raise FontpipeError(f"{version} is already the {rule} champion")
        return set_champion(models_dir, version, reason, metrics=metrics)


def _rule_or_latest(models_dir: Path, rule: str | None) -> str | None:
    if rule is not None:
        return rule
    history = promotion_history(models_dir)
    return str(history[-1]["rule"]) if history else None


def rollback_target(models_dir: Path, rule: str | None = None) -> str | None:
    """The version `rollback` would make champion of `rule` (default: the rule promoted last):
    the champion before the current one, walking back past versions rolled back from (so
    A -> B -> C rolls back to B, then A) and past versions deleted since."""
    rule = _rule_or_latest(models_dir, rule)
    if rule is None:
        return None
    chain = champion_chain(read_log(models_dir).entries, rule)
    for version in reversed(chain[:-1]):
        if version != chain[-1] and is_version_dir(version_dir(models_dir, version)):
            return version
    return None


def rollback(
    models_dir: Path, rule: str | None = None, *, lock_timeout: float = REGISTRY_LOCK_TIMEOUT
) -> dict[str, Any]:
    """Make the champion of `rule` before the current one champion again; each rollback walks
    one champion further back."""
    with registry_lock(models_dir, lock_timeout):
        rule = _rule_or_latest(models_dir, rule)
        current = champion(models_dir, rule)
        if current is None:
            which = f"{rule} champion" if rule else "champion of any rule"
            raise FontpipeError(f"no {which} in {models_dir} to roll back from")
        target = rollback_target(models_dir, rule)
        if target is None:
            raise FontpipeError(
                f"{current}, the {rule} champion in {models_dir}, has no earlier {rule} champion "
                "left to roll back to"
            )
        return set_champion(models_dir, target, f"rollback from {current}", rollback=True)


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
        read_log(models_dir).check_whole("promoting")  # before the champion's evaluation
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


def record_decision(
    models_dir: Path,
    outcome: RetrainOutcome,
    *,
    stored: bool = True,
    lock_timeout: float = REGISTRY_LOCK_TIMEOUT,
) -> dict[str, Any]:
    """Append a retrain round's decision, promoted or not, to `decisions.jsonl`. `stored` is
    False for a challenger identical to its champion (its version was not kept)."""
    entry = {
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **outcome.model_dump(mode="json"),
        "stored": stored,
    }
    with registry_lock(models_dir, lock_timeout):
        append_line(models_dir / DECISIONS_FILE, entry, parse_decision)
    return entry
