"""The score step: palette files scored by a rule's champion, in parts, into one output."""

from __future__ import annotations

from collections.abc import Callable

from fontpipe.registry.champions import (
    resolve_model,
)
from fontpipe.schema import DEFAULT_ANSWER_RULE
from fontpipe.scoring.job import PartRunner, ScoreSummary, score_files
from fontpipe.scoring.plan import ScoreConfig, ScoreJob
from fontpipe.settings import Settings
from fontpipe.steps import RowsDone


def run(
    inputs: list[str],
    out: str,
    config: ScoreConfig,
    settings: Settings,
    *,
    model: str = "champion",
    rule: str = DEFAULT_ANSWER_RULE,
    run_parts: PartRunner | None = None,
    rows_done: RowsDone | None = None,
    on_plan: Callable[[ScoreJob, set[int]], None] | None = None,
) -> ScoreSummary:
    """Score palette files with `rule`'s champion (or the version `model` names) into `out`.
    `run_parts` runs the parts elsewhere (Prefect tasks, a Dask cluster); by default they run on
    a thread per core here. `on_plan` sees the plan and the parts a resumed job already has."""
    version_path = resolve_model(model, settings.models_dir, rule)
    return score_files(
        inputs, out, version_path, config, run_parts=run_parts, progress=rows_done, on_plan=on_plan
    )
