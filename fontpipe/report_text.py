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
    table = Table(title=f"dataset {m['fingerprint'][:12]}: rule={m['rule']} sampling={m['sampling']} seed={m['seed']}")
    for column in ("split", "rows", "files", "black text", "white text"):
        table.add_column(column, justify="right")
    for row in dataset_split_rows(dataset):
        share = float(row["black_share"])  # type: ignore[arg-type]
        table.add_row(str(row["split"]), f"{row['rows']:,}", str(row["files"]), f"{share:.2%}", f"{1 - share:.2%}")
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
        lines.append(f"| {row['split']} | {row['rows']:,} | {row['files']} | {share:.2%} | {1 - share:.2%} |")
    return "\n".join(lines) + "\n"


def training_summary_table(metadata: dict[str, Any]) -> Table:
    table = Table(title=f"model {metadata['version']} ({metadata['epochs_run']} epochs, {metadata['train_seconds']:.1f}s, {metadata['device']})")
    for column in ("split", "loss", "accuracy"):
        table.add_column(column, justify="right")
    for split in ("train", "val", "test"):
        metrics = metadata["metrics"][split]
        loss, accuracy = metrics.get("loss"), metrics.get("accuracy")
        table.add_row(split, "-" if loss is None else f"{loss:.5f}", "-" if accuracy is None else f"{accuracy:.4%}")
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
