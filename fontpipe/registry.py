"""The model registry: versions under `models_dir/<version>/`, a champion pointer, a promotion log.

`champion` is a small JSON file replaced atomically (write beside, then rename), so readers see the
old champion or the new one, never a torn write. Promotions take a file lock, so concurrent
retrain runs cannot interleave their read-compare-write.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from filelock import FileLock

from fontpipe.atomic import write_json_atomic
from fontpipe.errors import FontpipeError
from fontpipe.promotion import Decision, PromotionPolicy, decide_promotion
from fontpipe.train import METADATA_FILE, MODEL_FILE, sha256_file

CHAMPION_FILE = "champion"
PROMOTIONS_FILE = "promotions.jsonl"
LOCK_FILE = ".registry.lock"


def list_versions(models_dir: Path) -> list[str]:
    """Complete versions, oldest first (names sort by creation time)."""
    if not models_dir.is_dir():
        return []
    return sorted(
        p.name
        for p in models_dir.iterdir()
        if p.is_dir()
        and not p.name.startswith(".")
        and (p / METADATA_FILE).exists()
        and (p / MODEL_FILE).exists()
    )


def read_metadata(models_dir: Path, version: str) -> dict[str, Any]:
    path = models_dir / version / METADATA_FILE
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise FontpipeError(f"model version {version!r} does not exist in {models_dir}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FontpipeError(f"{path}: corrupt metadata ({exc})") from None


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
    if reference == "champion":
        version = champion(models_dir)
        if version is None:
            raise FontpipeError(
                f"no champion model in {models_dir} yet: train one, or run the retrain pipeline"
            )
        return models_dir / version
    candidate = Path(reference)
    if (candidate / METADATA_FILE).exists():
        return candidate
    if (models_dir / reference / METADATA_FILE).exists():
        return models_dir / reference
    known = ", ".join(list_versions(models_dir)[-5:]) or "none"
    raise FontpipeError(
        f"model {reference!r} not found (not a version in {models_dir} nor a version directory); recent versions: {known}"
    )


def verify_version(path: Path) -> dict[str, Any]:
    """Metadata of a version whose model file still matches its checksum, else FontpipeError."""
    metadata = read_metadata(path.parent, path.name)
    if not (path / MODEL_FILE).exists() or sha256_file(path / MODEL_FILE) != metadata.get(
        "model_sha256"
    ):
        raise FontpipeError(
            f"{path / MODEL_FILE}: checksum mismatch; the model was modified or truncated"
        )
    return metadata


def promotion_history(models_dir: Path) -> list[dict[str, Any]]:
    path = models_dir / PROMOTIONS_FILE
    if not path.exists():
        return []
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def registry_lock(models_dir: Path, timeout: float = 60) -> FileLock:
    models_dir.mkdir(parents=True, exist_ok=True)
    return FileLock(str(models_dir / LOCK_FILE), timeout=timeout)


def set_champion(
    models_dir: Path, version: str, reason: str, *, metrics: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Point the champion at `version` (verified first) and log the promotion. Caller holds the lock."""
    verify_version(models_dir / version)
    previous = champion(models_dir)
    entry = {
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "from": previous,
        "to": version,
        "reason": reason,
        **({"metrics": metrics} if metrics else {}),
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


def promote_if_better(
    models_dir: Path,
    challenger: str,
    challenger_headline: dict[str, Any],
    champion_headline: Callable[[str], dict[str, Any]],
    policy: PromotionPolicy,
) -> tuple[Decision, str | None, dict[str, Any] | None]:
    """Compare and promote as one step under the registry lock.

    Returns the decision, the champion before it and that champion's headline as compared.

    `champion_headline(version)` evaluates a champion on the challenger's terms. It is called
    inside the lock, so a champion promoted by a concurrent run meanwhile is the one compared.
    """
    with registry_lock(models_dir):
        current = champion(models_dir)
        current_headline = None if current is None else champion_headline(current)
        decision = decide_promotion(challenger_headline, current_headline, policy)
        if decision.promote:
            set_champion(models_dir, challenger, decision.reason, metrics=challenger_headline)
        return decision, current, current_headline


def version_summaries(models_dir: Path) -> list[dict[str, Any]]:
    """One row per version for `fontpipe models list`: newest first, champion marked."""
    current = champion(models_dir)
    rows = []
    for version in reversed(list_versions(models_dir)):
        meta = read_metadata(models_dir, version)
        evaluation = read_evaluation(models_dir / version)
        rows.append(
            {
                "version": version,
                "champion": version == current,
                "created": meta.get("created"),
                "rule": meta.get("rule"),
                "test_accuracy": meta.get("metrics", {}).get("test", {}).get("accuracy"),
                "cube_errors": None if evaluation is None else evaluation["errors"],
                "boundary_accuracy": None
                if evaluation is None
                else evaluation["boundary_accuracy"],
                "epochs": meta.get("epochs_run"),
            }
        )
    return rows


EVALUATION_FILE = "evaluation.json"


def read_evaluation(version_path: Path) -> dict[str, Any] | None:
    path = version_path / EVALUATION_FILE
    if not path.exists():
        return None
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def write_evaluation(version_path: Path, headline: dict[str, Any], rule: str) -> None:
    write_json_atomic(version_path / EVALUATION_FILE, {"rule": rule, **headline})
