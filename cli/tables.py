"""Rich tables for the terminal: one per command's result.

Titles and cells that hold user text (rule `human:<name>`, version and file names) are `Text`, so
they read as written on any console, not as rich markup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from fontpipe.evaluation.scope import scope_phrases
from fontpipe.registry.promotion import RetrainReport
from fontpipe.registry.versions import VersionMetadata
from fontpipe.schema import SPLITS
from fontpipe.scoring.job import ScoreSummary
from fontpipe.summaries import dataset_split_rows, kept_weights

if TYPE_CHECKING:
    # Types only: a score's summary should not import the training and evaluation modules.
    from fontpipe.data.datasets import Dataset
    from fontpipe.evaluation.evaluate_version import EvaluationMetrics


def _share(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}%}"


def dataset_summary_table(dataset: Dataset) -> Table:
    m = dataset.manifest
    table = Table(
        title=Text(
            f"dataset {m['fingerprint'][:12]}: rule={m['rule']} sampling={m['sampling']} "
            f"seed={m['seed']}"
        )
    )
    for column in ("split", "rows", "files", "black text", "white text"):
        table.add_column(column, justify="right")
    for row in dataset_split_rows(dataset):
        table.add_row(
            row.split,
            f"{row.rows:,}",
            str(row.files),
            f"{row.black_share:.2%}",
            f"{1 - row.black_share:.2%}",
        )
    return table


def training_summary_table(metadata: VersionMetadata) -> Table:
    kept = kept_weights(metadata)
    table = Table(
        title=Text(
            f"model {metadata.version} ({metadata.epochs_run} epochs, "
            + (f"{kept.phrase()}, " if kept else "")
            + f"{metadata.train_seconds:.1f}s, {metadata.device})"
        ),
        caption=None
        if kept is None
        else f"train and val: the {kept.unit} kept, whose weights were saved",
        caption_justify="left",
    )
    for column in ("split", "loss", "accuracy"):
        table.add_column(column, justify="right")
    for split in SPLITS:
        metrics = metadata.metrics[split]
        loss = metrics.get("loss")
        table.add_row(
            split, "-" if loss is None else f"{loss:.5f}", _share(metrics.get("accuracy"))
        )
    return table


def evaluation_summary_table(metrics: EvaluationMetrics) -> Table:
    """The model against its rule over the cube, beside the baselines: the report's headline
    table (for a human-label model, against its prior rule; `human_labels_table` has the rest)."""
    over = "over the cube " if metrics.human is not None else ""
    table = Table(
        title=Text(
            f"model {metrics.version} {over}against the {metrics.rule} rule, on "
            + scope_phrases(metrics.cube)["scope_text"]
        )
    )
    for column in ("model", "accuracy", "errors", "far", "boundary band", "ECE", "AA share"):
        table.add_column(column, justify="right")
    rows = [("this model", metrics.cube.headline())]
    rows += [
        (name.replace("_", " "), b.headline)
        for name, b in metrics.baselines.items()
        if name != "rule"
    ]
    for name, h in rows:
        table.add_row(
            name,
            f"{h.accuracy:.5%}",
            f"{h.errors:,}",
            "-" if h.far_errors is None else f"{h.far_errors:,}",
            _share(h.boundary_accuracy),
            f"{h.ece:.5f}",
            f"{h.aa_share:.2%}",
        )
    return table


def human_labels_table(metrics: EvaluationMetrics) -> Table:
    """A human-label model on its held-out human labels (what its family promotes on), as the
    report's Human labels section, with the 95 % Wilson interval of so few colours."""
    from fontpipe.data.labels import held_out_accuracy

    human = metrics.human
    assert human is not None
    interval = held_out_accuracy(
        metrics.version, human.test_rows - human.test_errors, human.test_rows
    )
    table = Table(
        title=Text(f"model {metrics.version} on held-out human labels ({metrics.family})"),
        show_header=False,
    )
    table.add_column("", justify="left")
    table.add_column("", justify="right")
    rows = [
        ("held-out human labels", f"{human.test_rows:,} colours ({human.dataset})"),
        ("accuracy on them", f"{human.test_accuracy:.2%} ({human.test_errors:,} wrong)"),
        (
            "95 % Wilson interval",
            f"{100 * interval.low:.1f}% to {100 * interval.high:.1f}%",
        ),
        (f"departs from {human.prior_rule} on", f"{human.departure_share:.3%} of all colours"),
    ]
    for name, value in rows:
        table.add_row(Text(name), Text(value))
    return table


def score_summary_table(summary: ScoreSummary) -> Table:
    table = Table(title=Text(f"scored with model {summary.model_version}"), show_header=False)
    table.add_column("", justify="left")
    table.add_column("", justify="right")
    rows = [
        ("rows read", f"{summary.read:,}"),
        ("rows scored", f"{summary.scored:,}"),
        ("rows rejected", f"{summary.rejected:,}"),
        ("black text / white text", f"{summary.black_share:.2%} / {1 - summary.black_share:.2%}"),
        ("WCAG AA (>= 4.5:1)", f"{summary.aa_share:.2%}"),
        ("fails AA, other colour passes", f"{summary.other_passes_aa:,}"),
        ("differs from the browser (contrast-color())", f"{summary.differs_from_wcag:,}"),
        ("neither text reaches APCA Lc 60", f"{summary.no_lc_60:,}"),
        ("rows/s", f"{summary.rows_per_second:,.0f}"),
        ("parts (reused)", f"{summary.parts} ({summary.parts_reused})"),
        ("outside sRGB, gamut-mapped", f"{summary.gamut_mapped:,}"),
        (f"translucent, over {summary.backdrop}", f"{summary.translucent:,}"),
        ("entries that are not colours, skipped", f"{summary.skipped:,}"),
        ("output", summary.output),
    ]
    for name, value in rows:
        table.add_row(Text(name), Text(value))
    return table


def retrain_summary_table(report: RetrainReport) -> Table:
    """One row per rule: the verdict, and the champion's figures a reader checks first, measured
    on colours the model never saw (held-out) unless the row says otherwise."""
    table = Table(title="retrain: one champion per rule, on colours it never saw")
    numbers = ("errors", "far", "unseen colours", "AA share", "min contrast")
    for column in ("rule", "challenger", "champion", "seed", *numbers):
        table.add_column(column, justify="right" if column in numbers else "left")
    for outcome in report.outcomes:
        h = outcome.challenger_metrics if outcome.promoted else outcome.champion_metrics
        h = h or outcome.challenger_metrics
        verdict = ("promoted", "green") if outcome.promoted else ("not promoted", "yellow")
        measured = f"{h.colours:,}" if h.scope == "held-out" and h.colours else h.scope
        table.add_row(
            Text(outcome.rule),
            Text.assemble(str(outcome.challenger), " ", verdict),
            Text(str(outcome.champion)),
            Text("" if outcome.seed is None else str(outcome.seed)),
            f"{h.errors:,}",
            "" if h.far_errors is None else f"{h.far_errors:,}",
            Text(measured),
            f"{h.aa_share:.2%}",
            f"{h.min_contrast:.2f}:1",
        )
    return table
