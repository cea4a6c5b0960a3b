"""One door per pipeline step. Each function here takes typed config, returns a typed result, and
is the only place its step is put together from the stages below: the command line parses and
prints around it, the flows add retries, caching and artifacts around it, and the Python API
returns what it returns. None of them assembles a step again.

Progress goes out through plain callables (`Status`: a line saying where the step is; row
counters), so a caller can draw a bar, log, or ignore it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from fontpipe.data.datasets import (
    Dataset,
    DatasetRef,
    check_dataset_target,
    default_dataset_path,
    open_dataset,
    write_dataset,
)
from fontpipe.data.generation import GenerateConfig
from fontpipe.data.labels import LabelImport, LabelImportConfig
from fontpipe.data.labels import import_labels as import_label_file
from fontpipe.evaluation.evaluate_version import (
    EvaluationMetrics,
    compare_evaluation_with_champion,
    cube_headline,
    evaluate_version,
)
from fontpipe.evaluation.report import (
    check_report_target,
    default_report_path,
    write_comparison,
    write_report,
)
from fontpipe.export import export_model
from fontpipe.quiet import quiet_tensorflow
from fontpipe.records import Headline
from fontpipe.registry.champions import (
    PromotionOutcome,
    champion,
    identical_to_champion,
    promote_if_better,
    resolve_model,
)
from fontpipe.registry.promotion import ChampionComparison, PromotionPolicy, RetrainOutcome
from fontpipe.registry.versions import ModelVersion, open_version, remove_version
from fontpipe.schema import DEFAULT_ANSWER_RULE
from fontpipe.scoring.job import PartRunner, ScoreSummary, score_files
from fontpipe.scoring.plan import ScoreConfig, ScoreJob
from fontpipe.settings import Settings
from fontpipe.training.config import TrainConfig
from fontpipe.training.recipes import OriginalRecipe
from fontpipe.training.train import train_version

Status = Callable[[str], None]
RowsDone = Callable[[int], None]


def _silent(_: str) -> None:
    pass


@dataclass(frozen=True)
class GeneratedDataset:
    dataset: Dataset
    reused: bool  # an identical dataset (same parameters) was already there
    seconds: float


def generate(
    config: GenerateConfig,
    settings: Settings,
    *,
    out: Path | None = None,
    force: bool = False,
    check_space: bool = True,
    rows_done: RowsDone | None = None,
) -> GeneratedDataset:
    """Write the dataset `config` describes (to `out`, or its default place under the data root),
    or reuse the identical one already there."""
    target = check_dataset_target(out or default_dataset_path(settings.datasets_dir, config))
    started = time.perf_counter()
    dataset, reused = write_dataset(
        config, target, force=force, check_space=check_space, progress=rows_done
    )
    return GeneratedDataset(dataset, reused, time.perf_counter() - started)


def train(
    dataset: Dataset | Path | str,
    config: TrainConfig,
    models_dir: Path,
    *,
    callbacks: Sequence[Any] = (),
    on_device_plan: Callable[[Any], None] | None = None,
) -> ModelVersion:
    """Train on a dataset's train split (validated on its val split) and save a verified version.
    On a multi-worker run, a worker other than the chief raises `WorkerFinished` (exit code 0)."""
    opened = dataset if isinstance(dataset, Dataset) else open_dataset(dataset)
    quiet_tensorflow()
    return train_version(
        opened, config, models_dir, callbacks=list(callbacks), on_device_plan=on_device_plan
    )


class EvaluateRequest(BaseModel):
    """What to evaluate and what to write."""

    model_config = ConfigDict(frozen=True)

    model: str = "champion"  # champion, a version name, or a version directory
    rule: str | None = None  # None: the version's own rule
    dataset: Path | None = None  # also measure this dataset's test split
    report: Path | None = None  # None: data/reports/<version>/report.html
    write_report: bool = True
    recipe: OriginalRecipe | None = OriginalRecipe()  # the question's recipe, as a reference
    compare: bool = True  # put the comparison with the champion in the report


@dataclass(frozen=True)
class EvaluatedModel:
    metrics: EvaluationMetrics
    report: Path | None  # the HTML report, when one was written
    metrics_path: Path | None  # metrics.json beside it
    comparison: ChampionComparison | None = None


def evaluate(
    request: EvaluateRequest, settings: Settings, *, status: Status = _silent
) -> EvaluatedModel:
    """Evaluate a version over all 16,777,216 colours (and a test split), compare it with its
    rule's champion (nothing is promoted), and write the HTML report and `metrics.json`."""
    version_path = resolve_model(
        request.model, settings.models_dir, request.rule or DEFAULT_ANSWER_RULE
    )
    if request.dataset is not None:
        open_dataset(request.dataset)  # a broken dataset is refused before the long work
    target = None
    if request.write_report:
        target = check_report_target(
            request.report or default_report_path(settings.reports_dir, version_path.name)
        )
    quiet_tensorflow()
    evaluation = evaluate_version(
        version_path,
        rule_name=request.rule,
        dataset_path=request.dataset,
        recipe=request.recipe,
        progress=lambda step: status(f"evaluating: {step}"),
    )
    comparison = None
    if request.compare:
        status("comparing with the champion")
        comparison = compare_evaluation_with_champion(settings.models_dir, evaluation.metrics)
    metrics_path = None
    if target is not None:
        status("writing the report")
        metrics_path = write_report(evaluation, target, comparison)
    return EvaluatedModel(evaluation.metrics, target, metrics_path, comparison)


def score(
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


def import_labels(
    file: Path, out: Path, config: LabelImportConfig, *, force: bool = False
) -> LabelImport:
    """A labelled palette (human judgements) into a `human:<name>` dataset to train on."""
    return import_label_file(file, out, config, force=force)


@dataclass(frozen=True)
class Export:
    version: ModelVersion
    paths: list[Path]  # the export, then what it wrote beside it (the .js of a json export)


def export(model: str, export_format: str, out: Path, settings: Settings, *, rule: str) -> Export:
    """A model version out of Python: SavedModel, ONNX, LiteRT, or JSON plus JavaScript."""
    from fontpipe.export import javascript_name

    quiet_tensorflow()
    version = open_version(resolve_model(model, settings.models_dir, rule))
    written = export_model(version, export_format, out)
    extra = [written.with_name(javascript_name(written))] if export_format == "json" else []
    return Export(version, [written, *extra])


def promote_challenger(
    models_dir: Path,
    challenger: ModelVersion,
    headline: Headline,
    rule: str,
    policy: PromotionPolicy,
) -> PromotionOutcome:
    """Promote the challenger only if it beats `rule`'s champion, measured the same way."""
    return promote_if_better(
        models_dir, challenger, headline, lambda current: cube_headline(current, rule), policy
    )


def _write_dataset(config: GenerateConfig, out: Path) -> Dataset:
    return write_dataset(config, out)[0]


@dataclass(frozen=True)
class RetrainRunners:
    """How a retrain round runs its sub-steps. The defaults call the steps above here; the
    retrain flow passes the same calls wrapped as Prefect tasks (retries, caching, artifacts)."""

    make_dataset: Callable[[GenerateConfig, Path], DatasetRef | Dataset] = _write_dataset
    train: Callable[[str, TrainConfig, Path], ModelVersion] = train
    evaluate: Callable[[EvaluateRequest, Settings], EvaluatedModel] = evaluate
    promote: Callable[[Path, ModelVersion, Headline, str, PromotionPolicy], PromotionOutcome] = (
        promote_challenger
    )


def retrain_rule(
    generate_config: GenerateConfig,
    train_config: TrainConfig,
    policy: PromotionPolicy,
    recipe: OriginalRecipe | None,
    settings: Settings,
    *,
    runners: RetrainRunners = RetrainRunners(),
    status: Status = _silent,
) -> RetrainOutcome:
    """One rule's champion/challenger round: data, a challenger, its evaluation over the cube,
    the comparison with that rule's champion, promotion only if it is better."""
    rule, models_dir = generate_config.rule, settings.models_dir
    status("generating data")
    dataset = runners.make_dataset(
        generate_config, default_dataset_path(settings.datasets_dir, generate_config)
    )
    status("training")
    challenger = runners.train(str(dataset.path), train_config, models_dir)
    twin = identical_to_champion(models_dir, challenger)
    if twin is not None:
        remove_version(models_dir, challenger.name)
        return RetrainOutcome(
            rule=rule,
            challenger=challenger.name,
            promoted=False,
            reason=f"identical to the champion {twin} (same weights); not stored twice",
            previous_champion=twin,
            champion=twin,
            challenger_metrics=cube_headline(models_dir / twin, rule),
            champion_metrics=None,
            report=str(default_report_path(settings.reports_dir, twin)),
            dataset=str(dataset.path),
        )
    status("evaluating over the cube")
    request = EvaluateRequest(
        model=str(challenger.path),
        rule=rule,
        dataset=Path(dataset.path),
        recipe=recipe,
        compare=False,  # the decision below is the comparison
    )
    evaluated = runners.evaluate(request, settings)
    headline = evaluated.metrics.headline
    status("comparing with the champion")
    promotion = runners.promote(models_dir, challenger, headline, rule, policy)
    decision = ChampionComparison(
        rule=rule,
        challenger=challenger.name,
        champion=promotion.previous_champion,
        challenger_metrics=headline,
        champion_metrics=promotion.previous_headline,
        promote=promotion.decision.promote,
        reason=promotion.decision.reason,
        acted=True,
    )
    if evaluated.report is not None:
        write_comparison(evaluated.report, decision)
    return RetrainOutcome(
        rule=rule,
        challenger=challenger.name,
        promoted=promotion.decision.promote,
        reason=promotion.decision.reason,
        previous_champion=promotion.previous_champion,
        champion=champion(models_dir, rule),
        challenger_metrics=headline,
        champion_metrics=promotion.previous_headline,
        report=str(evaluated.report),
        dataset=str(dataset.path),
    )


def each_rule(rules: Iterable[str]) -> tuple[str, ...]:
    """The rules of a retrain, each checked by name before any work starts."""
    from fontpipe.color.rules import get_rule

    return tuple(get_rule(rule).name for rule in rules)
