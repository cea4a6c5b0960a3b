"""The model registry: which version is the champion, and the log of promotions.

Version directories belong to `fontpipe.versions`; this module only moves the champion pointer
and keeps `promotions.jsonl`. `champion` is a small JSON file replaced atomically (write beside,
then rename), so readers see the old champion or the new one, never a torn write. Promotions
take a file lock, so concurrent retrain runs cannot interleave their read-compare-write.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fontpipe.atomic import write_json_atomic
from fontpipe.errors import FontpipeError
from fontpipe.evaluation.metrics import Headline
from fontpipe.promotion import Decision, PromotionPolicy, decide_promotion
from fontpipe.versions import (
    ModelVersion,
    is_version_dir,
    list_versions,
    open_version,
    read_evaluation,
    read_metadata,
)

CHAMPION_FILE = "champion"
PROMOTIONS_FILE = "promotions.jsonl"
LOCK_FILE = ".registry.lock"
CHAMPION = "champion"  # the reference that names the current champion


def champion(models_dir: Path) -> str | None:
    pointer = models_dir / CHAMPION_FILE
    if not pointer.exists():
        return None
    try:
        return str(json.loads(pointer.read_text(encoding="utf-8"))["version"])
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise FontpipeError(f"{pointer}: corrupt champion pointer ({exc})") from None


def resolve_model(reference: str, models_dir: Path) -> Path:
    """`champion`, a version name, or a path to a version directory -> that directory."""
    if reference == CHAMPION:
        version = champion(models_dir)
        if version is None:
            raise FontpipeError(
                f"no champion model in {models_dir} yet: train one, or run the retrain pipeline"
            )
        return models_dir / version
    candidate = Path(reference)
    if is_version_dir(candidate):
        return candidate
    if is_version_dir(models_dir / reference):
        return models_dir / reference
    known = ", ".join(list_versions(models_dir)[-5:]) or "none"
    raise FontpipeError(
        f"model {reference!r} not found (not a version in {models_dir} nor a version directory); recent versions: {known}"
    )


def promotion_history(models_dir: Path) -> list[dict[str, Any]]:
    path = models_dir / PROMOTIONS_FILE
    if not path.exists():
        return []
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def registry_lock(models_dir: Path, timeout: float = 60) -> Any:
    from filelock import FileLock  # only writers lock; look-ups need not import it

    models_dir.mkdir(parents=True, exist_ok=True)
    return FileLock(str(models_dir / LOCK_FILE), timeout=timeout)


def set_champion(
    models_dir: Path, version: str, reason: str, *, metrics: Headline | None = None
) -> dict[str, Any]:
    """Point the champion at `version` (verified first) and log the promotion. Caller holds the lock."""
    if not is_version_dir(models_dir / version):
        raise FontpipeError(f"model version {version!r} does not exist in {models_dir}")
    open_version(models_dir / version)
    previous = champion(models_dir)
    entry = {
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "from": previous,
        "to": version,
        "reason": reason,
        **({"metrics": metrics.model_dump()} if metrics else {}),
    }
    write_json_atomic(models_dir / CHAMPION_FILE, {"version": version, "since": entry["at"]})
    # One JSON line per promotion; appends of a short line are atomic on local file systems.
    with (models_dir / PROMOTIONS_FILE).open("a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\n")
    return entry


def promote(models_dir: Path, version: str, reason: str = "promoted by hand") -> dict[str, Any]:
    with registry_lock(models_dir):
        if champion(models_dir) == version:
            raise FontpipeError(f"{version} is already the champion")
        return set_champion(models_dir, version, reason)


def rollback(models_dir: Path) -> dict[str, Any]:
    """Make the champion before the current one champion again."""
    with registry_lock(models_dir):
        current = champion(models_dir)
        if current is None:
            raise FontpipeError("no champion to roll back from")
        for entry in reversed(promotion_history(models_dir)):
            if entry["to"] == current and entry["from"]:
                return set_champion(models_dir, entry["from"], f"rollback from {current}")
        raise FontpipeError(f"{current} has no previous champion to roll back to")


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
        current = champion(models_dir)
        current_headline = (
            None if current is None else champion_headline(open_version(models_dir / current))
        )
        decision = decide_promotion(challenger_headline, current_headline, policy)
        if decision.promote:
            set_champion(models_dir, challenger.name, decision.reason, metrics=challenger_headline)
        return PromotionOutcome(decision, current, current_headline)


@dataclass(frozen=True)
class VersionSummary:
    """One row of `fontpipe models list`."""

    version: str
    champion: bool
    created: str
    rule: str
    epochs: int
    test_accuracy: float | None
    cube_errors: int | None
    boundary_accuracy: float | None


def version_summaries(models_dir: Path) -> list[VersionSummary]:
    """One row per version: newest first, champion marked."""
    current = champion(models_dir)
    rows = []
    for version in reversed(list_versions(models_dir)):
        meta = read_metadata(models_dir / version)
        evaluation = read_evaluation(models_dir / version) or {}
        rows.append(
            VersionSummary(
                version=version,
                champion=version == current,
                created=meta.created,
                rule=meta.rule,
                epochs=meta.epochs_run,
                test_accuracy=meta.metrics.get("test", {}).get("accuracy"),
                cube_errors=evaluation.get("errors"),
                boundary_accuracy=evaluation.get("boundary_accuracy"),
            )
        )
    return rows
