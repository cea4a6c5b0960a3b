"""The registry as a listing: one row per version with its rule, headline figures and champion
mark; and the history of every decision, retrain rounds and promotions alike."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fontpipe.registry.champions import champions, read_log, rollback_target
from fontpipe.registry.history import HistoryEntry, decision_history, read_decisions
from fontpipe.registry.versions import (
    list_versions,
    read_evaluation,
    read_metadata,
    version_dir,
)


@dataclass(frozen=True)
class VersionSummary:
    """One row of `fontpipe models list`."""

    version: str
    champion: bool
    created: str
    rule: str
    epochs: int
    test_accuracy: float | None
    cube_errors: int | None  # over `measured_on`
    boundary_accuracy: float | None
    # What the errors were measured on: "held-out" (colours it never saw), "training fit" or
    # "whole cube"; None before an evaluation.
    measured_on: str | None = None
    far_errors: int | None = None
    architecture: str | None = None  # the model family ("mlp", "channel-tables")
    sampling: str | None = None  # how its dataset was drawn ("boundary", "uniform", "cube", ...)
    # The version `models rollback --rule <its rule>` would make champion now: the champion
    # before the current one, walking back past versions rolled back from and deleted since.
    rollback_target: bool = False


def rollback_targets(models_dir: Path) -> dict[str, str | None]:
    """Each rule with a champion -> the version `rollback` would make its champion (None: no
    earlier champion is left to go back to)."""
    return {rule: rollback_target(models_dir, rule) for rule in sorted(champions(models_dir))}


def version_summaries(models_dir: Path) -> list[VersionSummary]:
    """One row per version: newest first, each rule's champion and rollback target marked."""
    current = set(champions(models_dir).values())
    targets = {target for target in rollback_targets(models_dir).values() if target}
    rows = []
    for version in reversed(list_versions(models_dir)):
        meta = read_metadata(version_dir(models_dir, version))
        evaluation = read_evaluation(version_dir(models_dir, version)) or {}
        rows.append(
            VersionSummary(
                version=version,
                champion=version in current,
                created=meta.created,
                rule=meta.rule,
                epochs=meta.epochs_run,
                test_accuracy=meta.metrics.get("test", {}).get("accuracy"),
                cube_errors=evaluation.get("errors"),
                boundary_accuracy=evaluation.get("boundary_accuracy"),
                measured_on=evaluation.get("scope", "whole cube") if evaluation else None,
                far_errors=evaluation.get("far_errors"),
                architecture=_architecture(meta.config),
                sampling=meta.dataset.sampling,
                rollback_target=version in targets,
            )
        )
    return rows


def _architecture(config: dict[str, Any]) -> str | None:
    model = config.get("model")
    return str(model.get("architecture")) if isinstance(model, dict) else None


def history(models_dir: Path, rule: str | None = None) -> list[HistoryEntry]:
    """Every retrain and promotion decision of `rule` (default: every rule), oldest first."""
    return decision_history(read_log(models_dir).entries, read_decisions(models_dir), rule)
