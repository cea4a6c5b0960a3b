"""Markdown summaries of each step's result, for Prefect artifacts and anything else that shows
text. Pure: typed results in, strings out. (The terminal's tables live with the CLI.)"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fontpipe.registry.promotion import RetrainOutcome, error_figures
from fontpipe.registry.versions import VersionMetadata
from fontpipe.schema import CUBE_SIZE, SPLITS
from fontpipe.scoring.job import ScoreSummary

if TYPE_CHECKING:
    # Types only: a score's summary should not import the training and evaluation modules.
    from fontpipe.data.datasets import Dataset
    from fontpipe.evaluation.evaluate_version import EvaluationMetrics


@dataclass(frozen=True)
class SplitSummary:
    split: str
    rows: int
    files: int
    black_share: float


def dataset_split_rows(dataset: Dataset) -> list[SplitSummary]:
    rows = []
    for split in SPLITS:
        entry = dataset.manifest["splits"][split]
        n = int(entry["rows"])
        rows.append(
            SplitSummary(split, n, len(entry["files"]), int(entry["black"]) / n if n else 0.0)
        )
    return rows


def dataset_markdown(dataset: Dataset) -> str:
    m = dataset.manifest
    lines = [
        f"# Dataset `{dataset.path}`",
        "",
        f"- rule: `{m['rule']}`, sampling: `{m['sampling']}`, seed: `{m['seed']}`",
        f"- fingerprint: `{m['fingerprint']}`, fontpipe {m['fontpipe_version']}",
        "",
        "| split | rows | files | black text | white text |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in dataset_split_rows(dataset):
        lines.append(
            f"| {row.split} | {row.rows:,} | {row.files} | {row.black_share:.2%} | {1 - row.black_share:.2%} |"
        )
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class KeptWeights:
    """Which of a run's epochs (an mlp's) or Newton steps (a channel-table model's) gave the
    saved weights: not always the last, as early stopping and the validation split choose."""

    unit: str  # "epoch" or "Newton step"
    kept: int  # 1-based
    of: int  # epochs or steps run

    def phrase(self) -> str:
        return f"{self.unit} {self.kept} of {self.of} kept"


def kept_weights(metadata: VersionMetadata) -> KeptWeights | None:
    """What the version's `fit` records of the epoch or step kept; None for a version from
    before it was recorded."""
    fit = metadata.fit
    if fit.get("family") == "channel-tables" and isinstance(fit.get("step"), int):
        return KeptWeights("Newton step", fit["step"], metadata.epochs_run)
    if fit.get("family") == "mlp" and isinstance(fit.get("epoch"), int):
        return KeptWeights("epoch", fit["epoch"], metadata.epochs_run)
    return None


def training_markdown(metadata: VersionMetadata) -> str:
    m = metadata.metrics
    config = metadata.config
    kept = kept_weights(metadata)
    return (
        f"# Model `{metadata.version}`\n\n"
        f"- dataset `{metadata.dataset.path}` (rule `{metadata.rule}`, fingerprint `{metadata.dataset.fingerprint}`)\n"
        f"- {metadata.epochs_run} epochs in {metadata.train_seconds:.1f}s; {metadata.device}\n"
        + (f"- weights: {kept.phrase()}\n" if kept else "")
        + f"- hidden layers {config['model']['hidden']}, lr {config['learning_rate']} ({config['schedule']})\n\n"
        "| split | loss | accuracy |\n|---|---:|---:|\n"
        + "".join(
            f"| {s} | {m[s]['loss']:.5f} | {m[s]['accuracy']:.4%} |\n"
            for s in SPLITS
            if m[s].get("loss") is not None and m[s].get("accuracy") is not None
        )
    )


def evaluation_markdown(metrics: EvaluationMetrics) -> str:
    # Here, not at the top: a score's summary should not load the evaluation modules.
    from fontpipe.evaluation.scope import scope_phrases

    h = metrics.headline
    band = "-" if h.boundary_accuracy is None else f"{h.boundary_accuracy:.4%}"
    lines = [
        f"# Evaluation of `{metrics.version}` ({metrics.rule} rule)",
        "",
        f"- measured on {scope_phrases(metrics.cube)['scope_text']}",
        f"- accuracy **{h.accuracy:.5%}**, errors **{h.errors:,}** of {h.colours or CUBE_SIZE:,}"
        f", {h.far_errors or 0:,} far from the boundary",
        f"- boundary-band accuracy {band}, ECE {h.ece:.5f}",
        f"- WCAG AA share {h.aa_share:.2%}, minimum contrast {h.min_contrast:.2f}:1",
    ]
    recipe = metrics.baselines.get("answer_recipe")
    if recipe is not None:
        word = "beats" if metrics.beats_answer_recipe else "does not beat"
        lines.append(f"- {word} the answer's recipe ({recipe.headline.errors:,} errors)")
    if metrics.test_split is not None and metrics.test_split.accuracy is not None:
        t = metrics.test_split
        lines.append(f"- test split: {t.accuracy:.5%} on {t.rows:,} rows ({t.errors:,} errors)")
    return "\n".join(lines) + "\n"


def score_markdown(summary: ScoreSummary) -> str:
    return (
        f"# Scored `{summary.output}` with model `{summary.model_version}`\n\n"
        "| read | scored | rejected | black text | AA | fails AA, other passes | rows/s |\n"
        "|---:|---:|---:|---:|---:|---:|---:|\n"
        f"| {summary.read:,} | {summary.scored:,} | {summary.rejected:,} | {summary.black_share:.2%} "
        f"| {summary.aa_share:.2%} | {summary.other_passes_aa:,} | {summary.rows_per_second:,.0f} |\n"
    )


def retrain_markdown(outcome: RetrainOutcome) -> str:
    h = outcome.challenger_metrics
    verdict = "promoted" if outcome.promoted else "not promoted"
    band = "-" if h.boundary_accuracy is None else f"{h.boundary_accuracy:.4%}"
    return (
        f"# Retrain: challenger `{outcome.challenger}` {verdict}\n\n"
        f"- reason: {outcome.reason}\n"
        f"- champion now: `{outcome.champion}` (before: `{outcome.previous_champion}`)\n"
        f"- challenger: {error_figures(h)}; accuracy {h.accuracy:.6%}, boundary band {band}\n"
        f"- learned from: `{outcome.dataset}` (seed {outcome.seed})\n"
        f"- report: `{outcome.report}`\n"
    )
