"""Scoring colours: P(black) from a version's cube table (or its model, off the integer grid),
and the output columns computed from it."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv

from fontpipe.arrays import from_numpy, strings, to_numpy
from fontpipe.color import apca
from fontpipe.color.cube import lookup_p_black, probability_function
from fontpipe.color.rules import relative_luminance, relative_luminance_float32, text_contrast
from fontpipe.errors import FontpipeError
from fontpipe.palettes.parse import ParsedColors
from fontpipe.registry.elsewhere import ModelBundle, open_bundle
from fontpipe.registry.versions import (
    ModelVersion,
    ensure_cube_table,
    load_keras_model,
    open_version,
)
from fontpipe.schema import (
    APCA_BODY,
    APCA_LARGE,
    APCA_LC_BLACK,
    APCA_LC_WHITE,
    APCA_MIN,
    CONTRAST_BLACK,
    CONTRAST_RATIO,
    CONTRAST_WHITE,
    GAMUT_MAPPED,
    MODEL_VERSION,
    OTHER_PASSES_AA,
    P_BLACK,
    SRGB_HEX,
    TEXT_COLOR,
    TEXT_COLORS_BY_DECISION,
    WCAG_AA,
    WCAG_AA_LARGE,
    WCAG_AA_RATIO,
    WCAG_AAA,
    WCAG_AAA_RATIO,
    WCAG_LARGE_RATIO,
    WCAG_NON_TEXT,
    black_text,
)
from fontpipe.scoring.allocator import keep_freed_memory

OUTPUT_FIELDS = (
    pa.field(P_BLACK, pa.float32()),
    pa.field(TEXT_COLOR, pa.dictionary(pa.int8(), pa.string())),
    pa.field(CONTRAST_BLACK, pa.float32()),
    pa.field(CONTRAST_WHITE, pa.float32()),
    pa.field(CONTRAST_RATIO, pa.float32()),
    pa.field(WCAG_AA, pa.bool_()),
    pa.field(WCAG_AAA, pa.bool_()),
    pa.field(WCAG_AA_LARGE, pa.bool_()),
    pa.field(WCAG_NON_TEXT, pa.bool_()),
    pa.field(OTHER_PASSES_AA, pa.bool_()),
    pa.field(APCA_LC_BLACK, pa.float32()),
    pa.field(APCA_LC_WHITE, pa.float32()),
    pa.field(APCA_BODY, pa.bool_()),
    pa.field(APCA_LARGE, pa.bool_()),
    pa.field(APCA_MIN, pa.bool_()),
    pa.field(MODEL_VERSION, pa.dictionary(pa.int8(), pa.string())),
)
OUTPUT_COLUMNS = tuple(f.name for f in OUTPUT_FIELDS)
# How scored rows are written as CSV text. Formatting is the slowest step of a CSV job; Arrow's
# writer formats 1,024 rows at a time by default, and 8,192 measured a quarter faster on 5 M
# scored rows (same bytes out).
CSV_WRITE_OPTIONS = pacsv.WriteOptions(include_header=False, batch_size=8192)

# In CSV text a contrast has 4 decimal places, rounded, except that a ratio under 4.5:1 or 7:1
# (or 3:1) never prints as the threshold its verdict column says it missed (4.49996 prints 4.4999). Arrow
# formats a decimal column about twice as fast as a float one (shortest round-trip digits), and
# the contrasts are most of a CSV job's formatting. Parquet keeps them as float32.
_CONTRAST_CSV_TYPE = pa.decimal128(6, 4)
# Every WCAG 2 contrast a verdict column is measured against: large text and non-text, AA, AAA.
WCAG_THRESHOLDS = (WCAG_LARGE_RATIO, WCAG_AA_RATIO, WCAG_AAA_RATIO)
_CONTRAST_COLUMNS = (CONTRAST_BLACK, CONTRAST_WHITE, CONTRAST_RATIO)
# APCA Lc in CSV text: 2 decimal places (signed; |Lc| is at most about 108), as APCA reports it.
_LC_CSV_TYPE = pa.decimal128(6, 2)
_LC_COLUMNS = (APCA_LC_BLACK, APCA_LC_WHITE)


def contrast_csv_text(contrast: npt.NDArray[np.float32]) -> pa.Array:
    """A float32 contrast column as the decimal CSV writes: 4 places."""
    scaled = np.multiply(contrast, 1e4, dtype=np.float64)
    np.rint(scaled, out=scaled)
    for threshold in WCAG_THRESHOLDS:
        limit = threshold * 1e4
        scaled[(contrast < threshold) & (scaled >= limit)] = limit - 1
    words = np.empty((len(contrast), 2), dtype=np.int64)  # a decimal128 is two 64-bit words
    words[:, 0] = scaled
    words[:, 1] = 0  # contrasts are positive: the high word is all zeros
    return pa.Array.from_buffers(_CONTRAST_CSV_TYPE, len(contrast), [None, pa.py_buffer(words)])


def lc_csv_text(lc: npt.NDArray[np.float32]) -> pa.Array:
    """A float32 Lc column as the decimal CSV writes: 2 places, rounded, never printed as a
    band edge (75, 60, 45) its verdict column says it missed."""
    scaled = np.rint(np.multiply(lc, 100, dtype=np.float64))
    magnitude = np.abs(lc)
    for edge in (apca.BODY_TEXT_LC, apca.LARGE_TEXT_LC, apca.MINIMUM_TEXT_LC):
        missed = (magnitude < edge) & (np.abs(scaled) >= edge * 100)
        scaled[missed] -= np.sign(scaled[missed])
    words = np.empty((len(lc), 2), dtype=np.int64)  # a decimal128 is two 64-bit words
    words[:, 0] = scaled
    words[:, 1] = np.where(scaled < 0, -1, 0)  # two's complement: the sign fills the high word
    return pa.Array.from_buffers(_LC_CSV_TYPE, len(lc), [None, pa.py_buffer(words)])


def csv_ready(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Scored rows as a CSV output writes them: contrasts as 4-place decimals, Lc as 2-place."""
    columns = []
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        if name in _CONTRAST_COLUMNS:
            column = contrast_csv_text(to_numpy(column))
        elif name in _LC_COLUMNS:
            column = lc_csv_text(to_numpy(column))
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


# Added after those when the colour is a text column (CSS strings).
TEXT_OUTPUT_FIELDS = (pa.field(SRGB_HEX, pa.string()), pa.field(GAMUT_MAPPED, pa.bool_()))
TEXT_OUTPUT_COLUMNS = tuple(f.name for f in TEXT_OUTPUT_FIELDS)

# "#00" .. "#ff" as ASCII bytes, for building hex strings without a Python string per row.
_HEX_PAIRS = np.frombuffer(
    "".join(f"{v:02x}" for v in range(256)).encode(), dtype=np.uint8
).reshape(256, 2)


def srgb_hex_column(rgb: npt.NDArray[np.uint8]) -> pa.Array:
    """`#rrggbb` for each (n, 3) uint8 colour, written straight into an Arrow string buffer."""
    n = len(rgb)
    data = np.empty((n, 7), dtype=np.uint8)
    data[:, 0] = ord("#")
    for channel in range(3):
        data[:, 1 + 2 * channel : 3 + 2 * channel] = _HEX_PAIRS[rgb[:, channel]]
    offsets = np.arange(0, 7 * n + 1, 7, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data.tobytes())]
    )


def text_output_columns(
    parsed: ParsedColors,
    valid: npt.NDArray[np.bool_],
    rgb: npt.NDArray[Any],
    color_column: pa.Array | pa.ChunkedArray | None,
) -> list[pa.Array | pa.ChunkedArray]:
    """`srgb_hex` and `gamut_mapped` for the valid rows of a text colour column (the columns of
    TEXT_OUTPUT_FIELDS); none for channel columns, which are sRGB as given. `rgb` and
    `color_column` hold the valid rows only."""
    if parsed.gamut_mapped is None:
        return []
    if parsed.canonical_hex and color_column is not None:
        # Already `#rrggbb` lowercase, row for row: the input column is the srgb_hex column.
        srgb_hex: pa.Array | pa.ChunkedArray = color_column
    elif parsed.srgb_hex is not None:
        srgb_hex = parsed.srgb_hex if valid.all() else parsed.srgb_hex.filter(from_numpy(valid))
    else:
        srgb_hex = srgb_hex_column(rgb.astype(np.uint8, copy=False))
    return [srgb_hex, from_numpy(parsed.gamut_mapped[valid])]


class Scorer:
    """P(black) for colours, from one verified model version."""

    def __init__(self, version: ModelVersion) -> None:
        self.version = version
        # A plain ndarray over the memory map: same shared pages, without np.memmap's per-call
        # subclass overhead on every gather.
        self.table = np.asarray(ensure_cube_table(version))
        self._model_p_black: Callable[[npt.NDArray[np.float32]], npt.NDArray[np.float32]] | None = (
            None
        )

    def p_black(self, rgb: npt.NDArray[Any], on_grid: bool) -> npt.NDArray[np.float32]:
        if on_grid:
            return lookup_p_black(self.table, rgb.astype(np.uint8, copy=False))
        if self._model_p_black is None:
            self._model_p_black = probability_function(load_keras_model(self.version))
        out = np.empty(len(rgb), dtype=np.float32)
        floats = rgb.astype(np.float32)
        for start in range(0, len(rgb), 1 << 20):
            out[start : start + (1 << 20)] = self._model_p_black(floats[start : start + (1 << 20)])
        return out


@functools.lru_cache(maxsize=4)
def cached_scorer(version_path: str) -> Scorer:
    """One scorer per process and model: a Dask worker verifies the model and maps the cube
    table once, not per task."""
    return Scorer(open_version(Path(version_path)))


# Scorers by model checksum, for parts that bring their model with them; and how often one was
# built or reused, which the cluster tests read from each worker.
_bundle_scorers: dict[str, Scorer] = {}
_bundle_scorers_lock = threading.Lock()
bundle_scorer_stats = {"built": 0, "reused": 0}


def job_scorer(version_path: Path | None, bundle: ModelBundle | None) -> Scorer:
    """The scorer for a job's model. Here, where the version directory is (`version_path`): that
    directory, verified and its cube table mapped once per process (`cached_scorer`). On a worker
    that got only the bundle: the model verified on arrival and its cube table built or mapped
    once per process and model (keyed by checksum), then reused by every later part."""
    if version_path is not None:
        scorer = cached_scorer(str(version_path))
        if bundle is not None and scorer.version.metadata.model_sha256 != bundle.model_sha256:
            raise FontpipeError(
                f"{version_path}: the model changed while the job ran; run the job again"
            )
        return scorer
    if bundle is None:
        raise FontpipeError("a score part came without its model")
    keep_freed_memory()  # a worker: see fontpipe.scoring.allocator
    with _bundle_scorers_lock:
        known = _bundle_scorers.get(bundle.model_sha256)
        if known is not None:
            bundle_scorer_stats["reused"] += 1
            return known
        built = Scorer(open_bundle(bundle))
        _bundle_scorers[bundle.model_sha256] = built
        bundle_scorer_stats["built"] += 1
        return built


# Rows whose float32 contrast lies this close to 3:1, 4.5:1 or 7:1 are recomputed in float64, so the
# verdicts are exact WCAG (float32 alone flips 2 of the cube's 33.5 M colour/text pairs at 4.5:1).
_AA_RECHECK = 1e-4


def _exact_at_thresholds(
    contrast: npt.NDArray[np.float32],
    rgb: npt.NDArray[Any],
    black: npt.NDArray[np.bool_] | bool,
) -> npt.NDArray[np.float32]:
    """float32 contrasts, with those within _AA_RECHECK of 3:1, 4.5:1 or 7:1 recomputed in
    float64, so every verdict against a WCAG threshold is the exact one."""
    close = np.zeros(len(contrast), dtype=bool)
    for threshold in WCAG_THRESHOLDS:
        close |= np.abs(contrast - np.float32(threshold)) < _AA_RECHECK
    near = np.flatnonzero(close)
    if len(near):
        side = black[near] if isinstance(black, np.ndarray) else black
        exact = text_contrast(np.asarray(relative_luminance(rgb[near])), side)
        contrast = contrast.copy()
        # Stored as the float32 nearest the exact value, but on the exact value's side of the
        # threshold: the verdict columns and the number never disagree.
        contrast[near] = exact
        for threshold in WCAG_THRESHOLDS:
            below = exact < threshold
            bumped = contrast[near] >= np.float32(threshold)
            fix = below & bumped
            contrast[near[fix]] = np.nextafter(np.float32(threshold), np.float32(0))
    return contrast


def score_columns(
    rgb: npt.NDArray[Any], p_black: npt.NDArray[np.float32], version: str
) -> list[pa.Array]:
    """The output columns of OUTPUT_FIELDS for scored colours, in that order."""
    black = black_text(p_black)
    if rgb.dtype == np.uint8:
        luminance = relative_luminance_float32(rgb)
    else:
        luminance = relative_luminance(rgb).astype(np.float32)
    on_black = _exact_at_thresholds(text_contrast(luminance, True), rgb, True)
    on_white = _exact_at_thresholds(text_contrast(luminance, False), rgb, False)
    chosen = np.where(black, on_black, on_white)
    other = np.where(black, on_white, on_black)
    aa = chosen >= WCAG_AA_RATIO
    lc_black, lc_white = apca_text_lc(rgb)
    chosen_lc = np.abs(np.where(black, lc_black, lc_white))
    n = len(p_black)
    # Built on the numpy buffers (`from_numpy`): no copy for the floats, and no pandas import.
    return [
        from_numpy(p_black.astype(np.float32, copy=False)),
        pa.DictionaryArray.from_arrays(
            from_numpy(black.view(np.int8)), strings(list(TEXT_COLORS_BY_DECISION))
        ),
        from_numpy(on_black.astype(np.float32, copy=False)),
        from_numpy(on_white.astype(np.float32, copy=False)),
        from_numpy(chosen.astype(np.float32, copy=False)),
        from_numpy(aa),
        from_numpy(chosen >= WCAG_AAA_RATIO),
        from_numpy(large := chosen >= WCAG_LARGE_RATIO),
        from_numpy(large),  # non-text (SC 1.4.11) asks the same 3:1 of the same colour pair
        from_numpy(~aa & (other >= WCAG_AA_RATIO)),
        from_numpy(lc_black),
        from_numpy(lc_white),
        from_numpy(chosen_lc >= apca.BODY_TEXT_LC),
        from_numpy(chosen_lc >= apca.LARGE_TEXT_LC),
        from_numpy(chosen_lc >= apca.MINIMUM_TEXT_LC),
        pa.DictionaryArray.from_arrays(from_numpy(np.zeros(n, dtype=np.int8)), strings([version])),
    ]


def apca_text_lc(rgb: npt.NDArray[Any]) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Signed APCA Lc of black and of white text, float32 (within 1e-3 Lc of float64)."""
    if rgb.dtype == np.uint8:
        return apca.text_lc_float32(rgb)
    lc_black, lc_white = apca.text_lc(rgb)
    return lc_black.astype(np.float32), lc_white.astype(np.float32)
