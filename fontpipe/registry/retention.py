"""Retention: which model versions to keep, which to delete, and which cube tables to drop. The
champions of every rule and their recent predecessors are never deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from fontpipe.registry.champions import champions, read_log, rollback_target
from fontpipe.registry.lock import REGISTRY_LOCK_TIMEOUT, registry_lock
from fontpipe.registry.versions import (
    CUBE_FILE,
    drop_cube_table,
    list_versions,
    remove_version,
    version_dir,
)


class RetentionPolicy(BaseModel):
    """What the retrain pipeline keeps after each run. The champion and the rollback target are
    always kept, whatever the numbers say."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Other versions kept, newest first; older ones are deleted.
    keep_versions: int = Field(5, ge=0)
    # Cube tables (32 MiB each) of kept versions other than the champion and the rollback target
    # are dropped; a table is rebuilt from its model whenever it is needed again.
    drop_cube_tables: bool = True


@dataclass(frozen=True)
class PrunePlan:
    protected: dict[str, str]  # version -> why it is never pruned
    kept: list[str]  # newest first
    removed: list[str]
    cube_tables_dropped: list[str]
    bytes_freed: int
    dry_run: bool


def prune_versions(
    models_dir: Path,
    policy: RetentionPolicy,
    *,
    dry_run: bool = False,
    lock_timeout: float = REGISTRY_LOCK_TIMEOUT,
) -> PrunePlan:
    """Delete all but the newest `keep_versions` versions besides the champion and the rollback
    target, under the registry lock (so a promotion running meanwhile is never pruned). A
    damaged line in the promotion log may hide a champion, so pruning waits for its repair."""
    with registry_lock(models_dir, lock_timeout):
        read_log(models_dir).check_whole("pruning")
        protected: dict[str, str] = {}
        current_champions = sorted(champions(models_dir).items())
        for rule, current in current_champions:
            protected[current] = f"{rule} champion"
        for rule, _ in current_champions:
            target = rollback_target(models_dir, rule)
            if target is not None:
                protected.setdefault(target, f"{rule} rollback target")
        others = [v for v in reversed(list_versions(models_dir)) if v not in protected]
        kept, removed = others[: policy.keep_versions], others[policy.keep_versions :]
        dropped = [
            v
            for v in kept
            if policy.drop_cube_tables and (version_dir(models_dir, v) / CUBE_FILE).exists()
        ]
        freed = sum(directory_size(version_dir(models_dir, v)) for v in removed)
        freed += sum((version_dir(models_dir, v) / CUBE_FILE).stat().st_size for v in dropped)
        if not dry_run:
            for name in removed:
                remove_version(models_dir, name)
            for name in dropped:
                drop_cube_table(version_dir(models_dir, name))
        return PrunePlan(protected, kept, removed, dropped, freed, dry_run)


def directory_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
