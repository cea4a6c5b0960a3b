"""Plain summaries shared by the CLI (rich tables) and the flows (markdown artifacts)."""

from __future__ import annotations

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
