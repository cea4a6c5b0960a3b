"""Human labels: a labelled palette (a brand team's decisions, a user study) as a dataset.

`import_labels` reads a CSV/TSV (optionally compressed), Parquet or JSON Lines file with a colour
column (any notation `score` reads) and a text-colour column (`black`/`white`, `1`/`0`,
`#000`/`#fff`), and writes a fontpipe dataset whose rule is `human:<name>`:

- every row is accounted for: bad colours and bad labels go to `<out>.rejects.csv` with their
  row (1-based, the header not counted, as in `score`) and reason;
- one row per colour: repeated colours are merged, and conflicting labels are resolved by
  majority; an exact tie goes to the text colour with the higher WCAG contrast. The manifest
  counts merged rows, conflicting colours and ties;
- seeded train/val/test splits of the distinct colours.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, field_validator

from fontpipe.atomic import check_writable, write_files_atomic
from fontpipe.color.css import WHITE
from fontpipe.color.cube import cube_colours_of, cube_index
from fontpipe.color.rules import RULES, get_rule
from fontpipe.data.datasets import Dataset, write_labelled_dataset
from fontpipe.data.generation import check_split_fractions
from fontpipe.errors import FontpipeError
from fontpipe.palettes.detect import SAMPLE_ROWS
from fontpipe.palettes.formats import csv_columns, input_format
from fontpipe.palettes.parse import detect_color_spec, parse_colors
from fontpipe.records import sha256_file
from fontpipe.schema import SPLITS, human_rule

# Below this many colours, a held-out split's accuracy is too uncertain to choose between models
# by: its 95 % interval is wider than about +-15 points at 80 % accuracy.
SMALL_SPLIT_COLOURS = 30
Z_95 = 1.959963984540054  # the standard normal's 97.5th percentile: a two-sided 95 % interval

BLACK_WORDS = frozenset({"black", "1", "#000", "#000000", "true"})
WHITE_WORDS = frozenset({"white", "0", "#fff", "#ffffff", "false"})


class LabelImportConfig(BaseModel):
    """How a labelled file becomes a dataset."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text_column: str
    color_column: str | None = None  # found by name ("color", "hex", ...) when not given
    rgb_columns: tuple[str, str, str] | None = None
    seed: int = Field(0, ge=0)
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)

    _fractions = field_validator("split_fractions")(check_split_fractions)


@dataclass(frozen=True)
class LabelledColours:
    """Distinct colours with one label each, and what it took to get there."""

    rgb: npt.NDArray[np.uint8]  # (n, 3), sorted by cube index
    label: npt.NDArray[np.int8]  # 1 black, 0 white
    rows_read: int
    rejects: list[tuple[int, str, str, str]]  # (1-based data row, column, value, reason)
    merged_rows: int  # rows that repeated a colour already seen
    conflicts: int  # colours labelled both ways
    ties: int  # conflicts with as many votes each way


def read_labelled_table(path: Path) -> pa.Table:
    """The whole file as strings (labelled palettes are small: read whole, not in parts)."""

    fmt = input_format(path)
    if not path.exists():
        raise FontpipeError(f"{path}: no such file")
    if fmt is None or fmt.kind not in ("csv", "parquet", "jsonl"):
        raise FontpipeError(
            f"{path}: expected a .csv, .tsv (optionally compressed), .parquet or .jsonl file"
        )
    try:
        if fmt.kind == "parquet":
            return pq.read_table(path)
        if fmt.kind == "jsonl":
            return pajson.read_json(path)

        names, delimiter = csv_columns(path, fmt, None)
        return pacsv.read_csv(
            pa.input_stream(str(path), compression=fmt.compression),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in names}
            ),
        )
    except pa.ArrowInvalid as exc:
        raise FontpipeError(f"{path}: cannot be read ({exc})") from None


def label_values(
    column: pa.ChunkedArray | pa.Array,
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.bool_]]:
    """Text-colour labels (1 black, 0 white) and which rows hold a recognised one."""
    words = [
        None if value is None else str(value).strip().lower()
        for value in column.cast(pa.string()).to_pylist()
    ]
    label = np.array([1 if w in BLACK_WORDS else 0 for w in words], dtype=np.int8)
    valid = np.array([w in BLACK_WORDS or w in WHITE_WORDS for w in words], dtype=bool)
    return label, valid


def collect_labels(table: pa.Table, config: LabelImportConfig) -> LabelledColours:
    """Parse colours and labels, set bad rows aside, merge repeated colours by majority."""

    names = table.schema.names
    if config.text_column not in names:
        raise FontpipeError(
            f"--text-column: no column {config.text_column!r} (columns: {', '.join(names)})"
        )
    spec = detect_color_spec(
        [n for n in names if n != config.text_column],
        config.color_column,
        config.rgb_columns,
        sample=table.slice(0, SAMPLE_ROWS),
    )
    parsed = parse_colors(table, spec, None, WHITE)
    label, label_ok = label_values(table.column(config.text_column))
    # parse_colors counts rows from 0; people, editors and `score`'s rejects count from 1.
    rejects = [(row + 1, column, value, why) for row, column, value, why in parsed.reasons]
    colour_ok = parsed.valid.copy()
    for row in np.flatnonzero(colour_ok & ~label_ok):
        value = table.column(config.text_column)[int(row)].as_py()
        rejects.append(
            (
                int(row) + 1,
                config.text_column,
                "" if value is None else str(value),
                "not a text colour (expected black/white, 1/0 or #000/#fff)",
            )
        )
    keep = colour_ok & label_ok
    if not parsed.on_grid:
        raise FontpipeError("colours must be 8-bit (whole channel values) to be labelled")
    index = cube_index(np.asarray(parsed.rgb[keep], dtype=np.uint8)).astype(np.int64)
    votes = label[keep].astype(np.int64)
    distinct, position, rows = np.unique(index, return_inverse=True, return_counts=True)
    black_votes = np.bincount(position, weights=votes, minlength=len(distinct))
    rgb = cube_colours_of(distinct)
    conflict = (black_votes > 0) & (black_votes < rows)
    tie = black_votes * 2 == rows
    # A tie goes to the text colour with the higher WCAG contrast: the readable default.
    wcag = get_rule("wcag").label(rgb)
    decided = np.where(tie, wcag, (black_votes * 2 > rows).astype(np.int8)).astype(np.int8)
    return LabelledColours(
        rgb=rgb,
        label=decided,
        rows_read=table.num_rows,
        rejects=sorted(rejects),
        merged_rows=int(keep.sum()) - len(distinct),
        conflicts=int(conflict.sum()),
        ties=int((tie & conflict).sum()),
    )


def split_assignment(n: int, config: LabelImportConfig) -> dict[str, npt.NDArray[np.int64]]:
    """Seeded train/val/test positions of n distinct colours."""
    order = np.random.default_rng(config.seed).permutation(n)
    val = round(n * config.split_fractions[1])
    test = round(n * config.split_fractions[2])
    train = n - val - test
    if (
        train <= 0
        or (config.split_fractions[1] > 0 and val == 0)
        or (config.split_fractions[2] > 0 and test == 0)
    ):
        raise FontpipeError(
            f"only {n} distinct labelled colours: too few for train, val and test splits"
        )
    parts = {
        "train": order[:train],
        "val": order[train : train + val],
        "test": order[train + val :],
    }
    return {split: np.sort(parts[split]) for split in SPLITS}


@dataclass(frozen=True)
class HeldOutAccuracy:
    """A share of held-out colours answered right, with its 95 % Wilson interval."""

    name: str  # what answered: a labelling rule, or a model
    colours: int
    right: int
    accuracy: float
    low: float
    high: float


def wilson_interval(right: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a proportion right/n. Unlike the normal approximation it
    stays inside [0, 1] and keeps a sensible width at 0 or n right and for small n, which is
    what a small split of human labels gives (Wilson 1927; Brown, Cai & DasGupta 2001)."""
    if n == 0:
        return 0.0, 1.0
    p = right / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * float(np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)))
    return max(0.0, centre - half), min(1.0, centre + half)


def held_out_accuracy(name: str, right: int, colours: int) -> HeldOutAccuracy:
    low, high = wilson_interval(right, colours)
    return HeldOutAccuracy(name, colours, right, right / colours if colours else 0.0, low, high)


def rule_agreement(
    rgb: npt.NDArray[np.uint8], label: npt.NDArray[np.int8]
) -> list[HeldOutAccuracy]:
    """Each labelling rule's accuracy on labelled colours: what a model must beat to have
    learned something of these labels, with how uncertain so few colours leave it."""
    return [
        held_out_accuracy(name, int(np.count_nonzero(rule.label(rgb) == label)), len(label))
        for name, rule in RULES.items()
    ]


def small_splits(split_colours: dict[str, int]) -> dict[str, int]:
    """The held-out splits (val, test) with fewer than SMALL_SPLIT_COLOURS colours."""
    return {
        split: n
        for split, n in split_colours.items()
        if split != "train" and n < SMALL_SPLIT_COLOURS
    }


@dataclass(frozen=True)
class LabelImport:
    """What `import_labels` did."""

    dataset: Dataset
    rejects_path: Path | None
    labelled: LabelledColours
    # Each rule's accuracy on the test split's labels, held out from training.
    held_out: tuple[HeldOutAccuracy, ...] = ()
    small_splits: dict[str, int] | None = None  # val or test below SMALL_SPLIT_COLOURS


def import_labels(
    path: Path, out: Path, config: LabelImportConfig, *, force: bool = False
) -> LabelImport:
    """Turn a labelled file into a dataset at `out` (rule `human:<out's name>`), rejects beside
    it as `<out>.rejects.csv`. Nothing is written when no row is usable."""

    path, out = Path(path), Path(out)
    rejects_path = out.with_name(out.name + ".rejects.csv")
    check_writable(out)
    table = read_labelled_table(path)
    with _naming(path):
        labelled = collect_labels(table, config)
        if not len(labelled.label):
            raise FontpipeError("no row has both a colour and a text-colour label")
        splits = split_assignment(len(labelled.label), config)
    source = {
        "file": str(path),
        "sha256": sha256_file(path),
        "rows_read": labelled.rows_read,
        "rows_rejected": len(labelled.rejects),
        "rows_merged": labelled.merged_rows,
        "conflicting_colours": labelled.conflicts,
        "ties": labelled.ties,
        "conflicts_resolved_by": "majority; a tie goes to the text colour with the higher WCAG contrast",
        "config": config.model_dump(mode="json"),
    }
    dataset = write_labelled_dataset(
        out,
        labelled.rgb,
        labelled.label,
        splits,
        rule=human_rule(out.name),
        seed=config.seed,
        source=source,
        force=force,
    )
    test = splits["test"]
    held_out = tuple(rule_agreement(labelled.rgb[test], labelled.label[test])) if len(test) else ()
    small = small_splits({split: len(positions) for split, positions in splits.items()})
    if labelled.rejects:
        lines = ["source_file,row,column,value,reason"]
        for row, column, value, reason in labelled.rejects:
            cells = [str(path), str(row), column, value, reason]
            lines.append(",".join(_csv_cell(c) for c in cells))
        write_files_atomic({rejects_path: "\n".join(lines) + "\n"})
        return LabelImport(dataset, rejects_path, labelled, held_out, small)
    rejects_path.unlink(missing_ok=True)  # a stale one from an earlier import would mislead
    return LabelImport(dataset, None, labelled, held_out, small)


@contextlib.contextmanager
def _naming(path: Path) -> Iterator[None]:
    """Errors about the file's contents name the file."""
    try:
        yield
    except FontpipeError as exc:
        if str(path) in str(exc):
            raise
        raise FontpipeError(f"{path}: {exc}") from None


def _csv_cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n\r') else text
