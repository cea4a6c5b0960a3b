"""`fontpipe import-labels`: a labelled palette (human judgements) into a dataset to train on."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from cli.base import app, emit_json, json_option, user_errors, with_default
from cli.console import console, err_console, styled
from cli.pipeline import parse_splits
from fontpipe.errors import build_config

if TYPE_CHECKING:
    from fontpipe.data.labels import HeldOutAccuracy, LabelImport


@app.command("import-labels")
@user_errors
def import_labels(
    file: Path = typer.Argument(
        ...,
        metavar="FILE",
        help="CSV/TSV (optionally .gz/.bz2/.zst), Parquet or JSON Lines of labelled colours.",
    ),
    text_column: str = typer.Option(
        ..., help="The label column: black/white, 1/0 or #000/#fff (any case)."
    ),
    out: Path = typer.Option(
        ...,
        help="Dataset directory, e.g. data/datasets/brand; its name becomes the rule human:<name>.",
    ),
    color_column: str | None = typer.Option(
        None,
        help=with_default("The colour column (any CSS colour).", "found by name, or r,g,b"),
    ),
    seed: int = typer.Option(0, help="Seed of the train/val/test assignment."),
    splits: str = typer.Option("0.8,0.1,0.1", help="train,val,test fractions summing to 1."),
    force: bool = typer.Option(False, "--force", help="Replace a dataset already at --out."),
    as_json: bool = json_option(),
) -> None:
    """Turn a labelled palette (human judgements) into a dataset to train on. Says how well each
    rule already answers its held-out test colours (with a 95 % Wilson interval), and warns when
    a validation or test split is too small to choose models by."""
    from fontpipe.data.labels import LabelImportConfig
    from fontpipe.steps import labels as labels_step

    config = build_config(
        LabelImportConfig,
        text_column=text_column,
        color_column=color_column,
        seed=seed,
        split_fractions=parse_splits(splits),
    )
    result = labels_step.run(file, out, config, force=force)
    summary = import_summary(result)
    for warning in small_split_warnings(result):
        err_console.print(styled(f"warning: {warning}", "yellow"), soft_wrap=True)
    if as_json:
        emit_json(summary)
        return
    labelled, dataset = result.labelled, result.dataset
    console.print(
        f"{dataset.path}: {summary['colours']:,} colours (rule {dataset.rule}) from "
        f"{labelled.rows_read:,} rows; {labelled.merged_rows:,} repeated rows merged, "
        f"{labelled.conflicts:,} colours labelled both ways resolved by majority "
        f"({labelled.ties:,} ties went to the higher WCAG contrast); splits "
        + ", ".join(f"{k} {v:,}" for k, v in summary["splits"].items()),
        soft_wrap=True,
    )
    if result.held_out:
        console.print(
            f"held-out test split ({result.held_out[0].colours:,} colours), each rule's "
            "accuracy on its labels (95 % Wilson interval): "
            + "; ".join(accuracy_phrase(a) for a in result.held_out),
            soft_wrap=True,
        )
    if result.rejects_path:
        console.print(
            styled(
                f"{len(labelled.rejects):,} rejected rows, with reasons, in {result.rejects_path}",
                "yellow",
            ),
            soft_wrap=True,
        )


def import_summary(result: LabelImport) -> dict[str, Any]:
    """The import as `--json` prints it (schemas/import-labels.json)."""
    labelled, dataset = result.labelled, result.dataset
    return {
        "dataset": str(dataset.path),
        "rule": dataset.rule,
        "rows_read": labelled.rows_read,
        "rows_rejected": len(labelled.rejects),
        "rows_merged": labelled.merged_rows,
        "colours": len(labelled.label),
        "conflicting_colours": labelled.conflicts,
        "ties": labelled.ties,
        "splits": {split: dataset.split_rows(split) for split in ("train", "val", "test")},
        "rejects": str(result.rejects_path) if result.rejects_path else None,
        "small_splits": result.small_splits or {},
        "held_out": [
            {
                "rule": a.name,
                "colours": a.colours,
                "right": a.right,
                "accuracy": a.accuracy,
                "interval_95": [a.low, a.high],
            }
            for a in result.held_out
        ],
    }


def small_split_warnings(result: LabelImport) -> list[str]:
    from fontpipe.data.labels import SMALL_SPLIT_COLOURS

    return [
        f"the {split} split has {n} colours (fewer than {SMALL_SPLIT_COLOURS}): an accuracy "
        "measured on it is too uncertain to choose between models; import more labelled "
        "colours, or give it a larger share with --splits"
        for split, n in (result.small_splits or {}).items()
    ]


def accuracy_phrase(accuracy: HeldOutAccuracy) -> str:
    """`wcag 87.50% (69.0-95.7%)`: a held-out accuracy and its 95 % interval."""
    return (
        f"{accuracy.name} {accuracy.accuracy:.2%} "
        f"({100 * accuracy.low:.1f}-{100 * accuracy.high:.1f}%)"
    )
