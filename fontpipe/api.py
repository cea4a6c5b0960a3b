"""The Python API: what the `fontpipe` package exposes to programs.

    import fontpipe

    model = fontpipe.load_model("champion", rule="wcag")
    model.predict(["#00ff7e", "oklch(63.7% 0.237 25.331)"])   # an Arrow table, one row each

Every function here returns results and raises `fontpipe.FontpipeError` (with the file, row and
problem in its message) instead of printing or exiting. The CLI and the flows call the same
library functions underneath.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from fontpipe.color.css import parse_backdrop
from fontpipe.errors import FontpipeError
from fontpipe.schema import CHANNELS, DEFAULT_ANSWER_RULE, RULE_NAMES, is_human_rule
from fontpipe.settings import Settings

if TYPE_CHECKING:
    import pandas as pd

    from fontpipe.data.datasets import Dataset
    from fontpipe.data.generation import GenerateConfig
    from fontpipe.evaluation.evaluate_version import EvaluationMetrics
    from fontpipe.palettes.parse import Scale
    from fontpipe.registry.versions import ModelVersion
    from fontpipe.training.config import TrainConfig
    from fontpipe.training.recipes import Recipe

# The column `predict` names a list of colour strings by (and reads back from a table).
COLOR = "color"

TableLike = TypeVar("TableLike", pa.Table, "pd.DataFrame")


@dataclass(frozen=True)
class Predictor:
    """A verified model version, ready to answer. Made by `load_model`; cheap to keep around
    (the cube table is memory-mapped) and safe to share between threads."""

    path: Path
    version: str
    rule: str

    def predict(
        self, colours: Any, *, backdrop: str = "white", scale: int | str | None = None
    ) -> pa.Table | pd.DataFrame:
        """The text colour for each background, with the columns `fontpipe score` writes.

        `colours` is a sequence of CSS colour strings, an `(n, 3)` array of channels (uint8
        0-255; a float array needs `scale=255` or `scale=1` where its values leave the scale
        in doubt), an Arrow table or a pandas DataFrame (a `color` column of strings, or `r`,
        `g`, `b`). Returns an Arrow table, or a DataFrame when given one, with the input's
        columns first. A colour that cannot be parsed raises `FontpipeError` naming its row
        (1-based) and the reason.
        """
        table = _as_table_or_frame(colours)
        return score_table(table, model=self, backdrop=backdrop, scale=scale)


def load_model(
    ref: str | Path = "champion",
    *,
    rule: str = DEFAULT_ANSWER_RULE,
    models_dir: str | Path | None = None,
) -> Predictor:
    """A model version, verified (checksums, cube table bound to the model), as a Predictor.

    `ref` is "champion" (the champion of `rule`), a version name, or a version directory;
    `models_dir` defaults to `$FONTPIPE_DATA/models` (`./data/models`).
    """
    from fontpipe.registry.champions import resolve_model
    from fontpipe.scoring.columns import cached_scorer

    if rule not in RULE_NAMES and not is_human_rule(rule):
        raise FontpipeError(
            f"unknown rule {rule!r} (expected one of {', '.join(RULE_NAMES)}, or human:<name>)"
        )
    directory = Path(models_dir) if models_dir else Settings.from_env().models_dir
    path = resolve_model(str(ref), directory, rule)
    scorer = cached_scorer(str(path))  # verifies the model and its cube table once per process
    return Predictor(path=path, version=scorer.version.name, rule=scorer.version.rule)


def score_table(
    table: TableLike,
    model: Predictor | str | Path = "champion",
    *,
    rule: str = DEFAULT_ANSWER_RULE,
    color_column: str | None = None,
    rgb_columns: tuple[str, str, str] | None = None,
    backdrop: str = "white",
    scale: int | str | None = None,
) -> TableLike:
    """Score one table in memory: its rows with the output columns of `fontpipe score` added.

    Works on an Arrow table or a pandas DataFrame and returns the same kind, so it fits
    `dask.dataframe.map_partitions` and pyarrow pipelines. The colour is found as `score` finds
    it (`r,g,b` columns, a column named `color`, or the one column named like a colour whose
    first rows hold colours), or named by `color_column` / `rgb_columns`. Decimal channels all
    in 0-1 need `scale` (1 or 255), as `score` needs `--scale`. A row that is not a colour
    raises `FontpipeError` naming the row (1-based).
    """
    from fontpipe.palettes.detect import SAMPLE_ROWS
    from fontpipe.palettes.parse import ScaleNeeded, detect_color_spec, parse_colors
    from fontpipe.scoring.columns import (
        OUTPUT_COLUMNS,
        TEXT_OUTPUT_COLUMNS,
        cached_scorer,
        score_columns,
        text_output_columns,
    )

    predictor = model if isinstance(model, Predictor) else load_model(model, rule=rule)
    as_frame = not isinstance(table, pa.Table)
    arrow = pa.Table.from_pandas(table, preserve_index=False) if as_frame else table
    spec = detect_color_spec(
        arrow.schema.names, color_column, rgb_columns, sample=arrow.slice(0, SAMPLE_ROWS)
    )
    try:
        parsed = parse_colors(arrow, spec, _scale(scale), _backdrop(backdrop))
    except ScaleNeeded as exc:
        raise FontpipeError(
            f"{exc.problem}: say which scale they use with scale=255 or scale=1, or pass uint8 "
            "channels 0-255"
        ) from None
    if parsed.reasons:
        row, column, value, reason = min(parsed.reasons)
        raise FontpipeError(f"row {row + 1}, column {column!r}: {reason} (value {value!r})")
    scorer = cached_scorer(str(predictor.path))
    rgb = parsed.rgb
    p_black = scorer.p_black(rgb, parsed.on_grid)
    text = arrow.column(spec.color_column) if spec.color_column else None
    text_columns = text_output_columns(parsed, parsed.valid, rgb, text)
    columns: list[pa.Array | pa.ChunkedArray] = list(score_columns(rgb, p_black, predictor.version))
    columns += text_columns
    names = list(OUTPUT_COLUMNS) + (list(TEXT_OUTPUT_COLUMNS) if text_columns else [])
    scored = arrow
    for name, column in zip(names, columns, strict=True):
        scored = scored.append_column(name, column)
    if as_frame:
        frame: TableLike = scored.to_pandas()
        return frame
    return scored


@functools.lru_cache(maxsize=16)
def _backdrop(text: str) -> tuple[int, int, int]:
    return parse_backdrop(text)


def _scale(scale: int | str | None) -> Scale | None:
    if scale is None:
        return None
    if str(scale) in ("1", "1.0"):
        return "1"
    if str(scale) in ("255", "255.0"):
        return "255"
    raise FontpipeError(f"scale={scale!r}: expected 1 (channels 0-1) or 255 (channels 0-255)")


def _as_table_or_frame(colours: Any) -> Any:
    if isinstance(colours, pa.Table):
        return colours
    if type(colours).__name__ == "DataFrame" and hasattr(colours, "to_numpy"):
        return colours
    if isinstance(colours, str):
        colours = [colours]
    if isinstance(colours, np.ndarray):
        array: npt.NDArray[Any] = colours
        if array.ndim != 2 or array.shape[1] != 3:
            raise FontpipeError(f"an array of colours must have shape (n, 3), not {array.shape}")
        numeric = np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
        if array.dtype == np.bool_ or not numeric:
            # True/False would read as channels 1/0: a mask passed by mistake, not colours.
            raise FontpipeError(
                f"an array of {array.dtype} is not colours: pass channels as uint8 0-255 "
                "(or floats with scale=255 or scale=1)"
            )
        # Channels are checked as `score` checks a file's (range, whole numbers, scale), so an
        # array of 0-1 floats is refused rather than read as near-black.
        return pa.table({name: array[:, i] for i, name in enumerate(CHANNELS)})
    if isinstance(colours, Sequence):
        return pa.table({COLOR: pa.array([str(c) for c in colours], pa.string())})
    raise FontpipeError(
        f"cannot read colours from a {type(colours).__name__}: give CSS strings, an (n, 3) "
        "uint8 array, an Arrow table or a pandas DataFrame"
    )


def generate(config: GenerateConfig, out: str | Path, *, force: bool = False) -> Dataset:
    """Write the labelled dataset `config` describes to `out` (reused when it is already there
    from the same parameters) and return it, opened and checked."""
    from fontpipe.steps import generate as generate_step

    return generate_step.run(config, Settings.from_env(), out=Path(out), force=force).dataset


def train(
    dataset: Dataset | str | Path,
    config: TrainConfig,
    models_dir: str | Path | None = None,
) -> ModelVersion:
    """Train a model on a dataset and save it as a new, verified version in `models_dir`."""
    from fontpipe.steps import train as train_step

    return train_step.run(dataset, config, Settings.from_env(models_dir=models_dir).models_dir)


def evaluate(
    model: Predictor | str | Path = "champion",
    *,
    rule: str | None = None,
    dataset: str | Path | None = None,
    report: str | Path | None = None,
    recipe: Recipe | None = None,
    models_dir: str | Path | None = None,
) -> EvaluationMetrics:
    """Evaluate a model over all 16,777,216 colours against `rule` (default: its own), and on a
    dataset's test split when given; with `report`, also write the HTML report and
    `metrics.json` there. `recipe` trains the original question's recipe as a reference."""
    from fontpipe.steps import evaluate as evaluate_step

    request = evaluate_step.EvaluateRequest(
        model=str(model.path) if isinstance(model, Predictor) else str(model),
        rule=rule,
        dataset=Path(dataset) if dataset else None,
        report=Path(report) if report else None,
        write_report=report is not None,
        recipe=recipe,
        compare=False,
    )
    return evaluate_step.run(request, Settings.from_env(models_dir=models_dir)).metrics


__all__ = [
    "Predictor",
    "evaluate",
    "generate",
    "load_model",
    "score_table",
    "train",
]
