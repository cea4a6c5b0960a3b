"""Plain summaries shared by the CLI (rich tables) and the flows (markdown artifacts)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from fontpipe.schema import SPLITS
from fontpipe.store import Dataset


def dataset_split_rows(dataset: Dataset) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for split in SPLITS:
        entry = dataset.manifest["splits"][split]
        n = int(entry["rows"])
        black = int(entry["black"])
        rows.append(
            {
                "split": split,
                "rows": n,
                "files": len(entry["files"]),
                "black_share": black / n if n else 0.0,
            }
        )
    return rows


def dataset_summary_table(dataset: Dataset) -> Table:
    m = dataset.manifest
    table = Table(
        title=f"dataset {m['fingerprint'][:12]}: rule={m['rule']} sampling={m['sampling']} seed={m['seed']}"
    )
    for column in ("split", "rows", "files", "black text", "white text"):
        table.add_column(column, justify="right")
    for row in dataset_split_rows(dataset):
        share = float(row["black_share"])  # type: ignore[arg-type]
        table.add_row(
            str(row["split"]),
            f"{row['rows']:,}",
            str(row["files"]),
            f"{share:.2%}",
            f"{1 - share:.2%}",
        )
    return table


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
        share = float(row["black_share"])  # type: ignore[arg-type]
        lines.append(
            f"| {row['split']} | {row['rows']:,} | {row['files']} | {share:.2%} | {1 - share:.2%} |"
        )
    return "\n".join(lines) + "\n"


def training_summary_table(metadata: dict[str, Any]) -> Table:
    table = Table(
        title=f"model {metadata['version']} ({metadata['epochs_run']} epochs, {metadata['train_seconds']:.1f}s, {metadata['device']})"
    )
    for column in ("split", "loss", "accuracy"):
        table.add_column(column, justify="right")
    for split in ("train", "val", "test"):
        metrics = metadata["metrics"][split]
        loss, accuracy = metrics.get("loss"), metrics.get("accuracy")
        table.add_row(
            split,
            "-" if loss is None else f"{loss:.5f}",
            "-" if accuracy is None else f"{accuracy:.4%}",
        )
    return table


def training_markdown(metadata: dict[str, Any]) -> str:
    m = metadata["metrics"]
    return (
        f"# Model `{metadata['version']}`\n\n"
        f"- dataset `{metadata['dataset']['path']}` (rule `{metadata['rule']}`, fingerprint `{metadata['dataset']['fingerprint']}`)\n"
        f"- {metadata['epochs_run']} epochs in {metadata['train_seconds']:.1f}s; {metadata['device']}\n"
        f"- hidden layers {metadata['config']['model']['hidden']}, lr {metadata['config']['learning_rate']} ({metadata['config']['schedule']})\n\n"
        "| split | loss | accuracy |\n|---|---:|---:|\n"
        + "".join(
            f"| {s} | {m[s]['loss']:.5f} | {m[s]['accuracy']:.4%} |\n"
            for s in ("train", "val", "test")
            if m[s].get("loss") is not None
        )
    )


def evaluation_summary_table(metrics: dict[str, Any]) -> Table:
    table = Table(
        title=f"model {metrics['version']} against the {metrics['rule']} rule, all 16,777,216 colours"
    )
    for column in ("model", "accuracy", "errors", "boundary band", "ECE", "AA share"):
        table.add_column(column, justify="right")
    rows = [("this model", metrics["headline"])]
    rows += [
        (name.replace("_", " "), b["headline"])
        for name, b in metrics["baselines"].items()
        if name != "rule"
    ]
    for name, h in rows:
        table.add_row(
            name,
            f"{h['accuracy']:.5%}",
            f"{h['errors']:,}",
            f"{h['boundary_accuracy']:.4%}",
            f"{h['ece']:.5f}",
            f"{h['aa_share']:.2%}",
        )
    return table


def evaluation_markdown(metrics: dict[str, Any]) -> str:
    h = metrics["headline"]
    lines = [
        f"# Evaluation of `{metrics['version']}` ({metrics['rule']} rule)",
        "",
        f"- cube accuracy **{h['accuracy']:.5%}**, errors **{h['errors']:,}** of 16,777,216",
        f"- boundary-band accuracy {h['boundary_accuracy']:.4%}, ECE {h['ece']:.5f}",
        f"- WCAG AA share {h['aa_share']:.2%}, minimum contrast {h['min_contrast']:.2f}:1",
    ]
    if "beats_original_recipe" in metrics:
        recipe = metrics["baselines"]["original_recipe"]["headline"]
        word = "beats" if metrics["beats_original_recipe"] else "does not beat"
        lines.append(f"- {word} the original recipe ({recipe['errors']:,} errors)")
    if metrics.get("test_split"):
        t = metrics["test_split"]
        lines.append(
            f"- test split: {t['accuracy']:.5%} on {t['rows']:,} rows ({t['errors']:,} errors)"
        )
    return "\n".join(lines) + "\n"


def score_summary_table(summary: Any) -> Table:
    table = Table(title=f"scored with model {summary.model_version}", show_header=False)
    table.add_column("", justify="left")
    table.add_column("", justify="right")
    rows = [
        ("rows read", f"{summary.read:,}"),
        ("rows scored", f"{summary.scored:,}"),
        ("rows rejected", f"{summary.rejected:,}"),
        ("black text / white text", f"{summary.black_share:.2%} / {1 - summary.black_share:.2%}"),
        ("WCAG AA (>= 4.5:1)", f"{summary.aa_share:.2%}"),
        ("rows/s", f"{summary.rows_per_second:,.0f}"),
        ("parts (reused)", f"{summary.parts} ({summary.parts_reused})"),
        ("output", summary.output),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def retrain_summary_table(outcome: dict[str, Any]) -> Table:
    h = outcome["challenger_metrics"]
    verdict = "[green]promoted" if outcome["promoted"] else "[yellow]not promoted"
    table = Table(title="retrain", show_header=False)
    table.add_column("", justify="left")
    table.add_column("", justify="left")
    rows = [
        ("challenger", f"{outcome['challenger']} {verdict}[/] ({outcome['reason']})"),
        ("champion", str(outcome["champion"])),
        ("cube errors", f"{h['errors']:,} of 16,777,216 (accuracy {h['accuracy']:.6%})"),
        ("boundary-band accuracy", f"{h['boundary_accuracy']:.4%}"),
        ("ECE / WCAG AA share", f"{h['ece']:.5f} / {h['aa_share']:.2%}"),
        ("report", outcome["report"]),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table
