"""Pure metrics: exhaustive evaluation of a cube table over all 16,777,216 colours, and of
predictions on a dataset split. No files, no models: see `evaluate_version` for those.

Everything works from a cube table (P(black) per colour), so a model is run once per evaluation
and any rule can be checked against the same predictions. Results are typed (`CubeEvaluation`,
`Headline`); `model_dump()` gives the JSON that `metrics.json` holds.
"""

from __future__ import annotations

import itertools
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from fontpipe.color.cube import (
    CUBE_CHUNK,
    CubeTable,
    cube_colours,
    cube_index,
)
from fontpipe.color.rule_cube import (
    cube_aa,
    cube_bands,
    cube_labels,
    cube_luminance,
    cube_margins,
)
from fontpipe.color.rules import RULES, Rule, text_contrast
from fontpipe.records import Headline
from fontpipe.schema import CUBE_SIZE, black_text, text_color_name

RELIABILITY_BINS = 10
WORST_ERRORS = 24
# The worst errors shown are at most two per hue bucket, whatever the other hues hold: 24 bricks
# of nearly the same red tell a reader less than 24 mistakes across the wheel.
PER_HUE = 2
HUE_BUCKETS = 13  # twelve 30-degree HSV hues, and the greys


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Confusion(_Frozen):
    true_white_pred_white: int
    true_white_pred_black: int
    true_black_pred_white: int
    true_black_pred_black: int

    @classmethod
    def from_counts(cls, counts: npt.NDArray[np.int64]) -> Confusion:
        """From the four counts indexed true_label * 2 + predicted."""
        return cls(
            true_white_pred_white=int(counts[0]),
            true_white_pred_black=int(counts[1]),
            true_black_pred_white=int(counts[2]),
            true_black_pred_black=int(counts[3]),
        )


class Band(_Frozen):
    band: str
    colours: int
    errors: int
    accuracy: float | None


class BoundaryBand(_Frozen):
    max_abs_margin: float
    colours: int
    errors: int
    accuracy: float | None


class ColourEntry(_Frozen):
    rgb: list[int]
    hex: str
    p_black: float
    predicted: str
    expected: str | None = None
    margin: float | None = None


class ReliabilityBin(_Frozen):
    bin: str
    count: int
    mean_p_black: float | None
    black_share: float | None


class GreyRamp(_Frozen):
    p_black: list[float]
    flip_at: int | None
    flips: list[int]


class ContrastSummary(_Frozen):
    min_contrast: float
    aa_share: float


# What a cube evaluation's colours are. "held-out": every colour the model never saw in
# training or validation; "training fit": the whole cube, every colour of which it trained on
# (`cube` sampling); "whole cube": its training colours are unknown (its dataset is gone).
Scope = Literal["held-out", "training fit", "whole cube"]


class CubeEvaluation(_Frozen):
    rule: str
    scope: Scope = "whole cube"
    colours: int  # colours measured: the held-out ones, or the whole cube
    seen_colours: int = 0  # training and validation colours left out of the figures
    seen_errors: int | None = None  # errors on those colours: a training figure
    accuracy: float
    errors: int
    far_margin: float = 0.0
    far_errors: int = 0  # errors with |margin| >= far_margin
    aa_lost: int = 0  # errors whose text misses 4.5:1 where the other colour reaches it
    confusion: Confusion
    bands: list[Band]
    boundary_band: BoundaryBand
    margin_unit: str
    worst_errors: list[ColourEntry]
    reliability: list[ReliabilityBin]
    ece: float
    grey_ramp: GreyRamp
    rule_agreement: dict[str, float]
    wcag: ContrastSummary

    def headline(self) -> Headline:
        return Headline(
            scope=self.scope,
            colours=self.colours,
            far_errors=self.far_errors,
            aa_lost=self.aa_lost,
            accuracy=self.accuracy,
            errors=self.errors,
            boundary_accuracy=self.boundary_band.accuracy,
            ece=self.ece,
            aa_share=self.wcag.aa_share,
            min_contrast=self.wcag.min_contrast,
        )


class SplitEvaluation(_Frozen):
    rows: int
    accuracy: float | None
    errors: int
    confusion: Confusion


def hue_buckets(indices: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Cube colours -> twelve 30-degree HSV hue buckets (0-11), greys in bucket 12."""
    # Integer arithmetic on the packed colour: the same buckets as the float HSV formula, about
    # ten times faster, which matters because every error of a cube pass is bucketed.
    packed = np.asarray(indices, dtype=np.int64)
    r, g, b = (packed >> 16) & 255, (packed >> 8) & 255, packed & 255
    high = np.maximum(np.maximum(r, g), b)
    spread = high - np.minimum(np.minimum(r, g), b)
    # Twice the hue in 60-degree sextants, floored: red's sextant starts at 0, green's at 4
    # (120 degrees), blue's at 8 (240 degrees).
    offset = np.where(high == r, g - b, np.where(high == g, b - r, r - g))
    start = np.where(high == r, 0, np.where(high == g, 4, 8))
    bucket = (start + (2 * offset) // np.maximum(spread, 1)) % 12
    return np.where(spread > 0, bucket, 12)


def hue_worst(
    buckets: npt.NDArray[np.int64], margins: npt.NDArray[np.float64]
) -> npt.NDArray[np.int64]:
    """Positions of the PER_HUE largest margins in each hue bucket, largest first (equal
    margins: the earlier position first)."""
    order = np.argsort(-margins, kind="stable")
    ranked = np.asarray(buckets)[order]
    firsts = [np.flatnonzero(ranked == bucket)[:PER_HUE] for bucket in range(HUE_BUCKETS)]
    return order[np.sort(np.concatenate(firsts))]


def diverse_worst(indices: npt.NDArray[np.int64], margins: npt.NDArray[np.float64]) -> list[int]:
    """Positions of up to WORST_ERRORS errors, largest |margin| first, at most PER_HUE per hue
    bucket: when the errors span fewer hues, fewer are shown rather than a third of one hue."""
    if not len(indices):
        return []
    return [int(p) for p in hue_worst(hue_buckets(indices), margins)[:WORST_ERRORS]]


def _band_labels(edges: tuple[float, ...]) -> list[str]:
    labels = [f"|m| < {edges[0]:g}"]
    labels += [f"{lo:g} <= |m| < {hi:g}" for lo, hi in itertools.pairwise(edges)]
    labels.append(f"|m| >= {edges[-1]:g}")
    return labels


def boundary_band_edge(rule: Rule) -> float:
    """The headline 'near the boundary' band: |margin| < the rule's second band edge
    (for `mean`, colours whose r+g+b lies within 3 of 382.5, where the original network fails)."""
    return rule.band_edges[1]


class _CubeTally:
    """Running counts over the cube, chunk by chunk, so memory stays a few chunks."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.edges = np.asarray(rule.band_edges)
        n_bands = len(self.edges) + 1
        self.band_total = np.zeros(n_bands, np.int64)
        self.band_correct = np.zeros(n_bands, np.int64)
        self.confusion = np.zeros(4, np.int64)  # true label * 2 + predicted
        self.rel_count = np.zeros(RELIABILITY_BINS, np.int64)
        self.rel_p_sum = np.zeros(RELIABILITY_BINS, np.float64)
        self.rel_black = np.zeros(RELIABILITY_BINS, np.int64)
        self.agreement = {name: 0 for name in RULES}
        self.min_contrast = np.inf
        self.aa_count = 0
        self.worst_index: npt.NDArray[np.int64] = np.zeros(0, np.int64)
        self.worst_margin: npt.NDArray[np.float64] = np.zeros(0)
        self.colours = 0
        self.far_errors = 0
        self.aa_lost = 0

    def add(self, start: int, stop: int, keep: npt.NDArray[np.bool_] | None, p: Any) -> None:
        """Cube colours start..stop (those where `keep` is true, if given), with their P(black).
        Everything about the colours comes from the per-process cube caches (`rule_cube`):
        slices, not per-pass arithmetic."""

        def of(values: Any) -> Any:
            part = values[start:stop]
            return part if keep is None else part[keep]

        n_bands = len(self.band_total)
        predicted = black_text(p)
        self.colours += len(predicted)
        margin = of(cube_margins(self.rule.name))
        truth = of(cube_labels(self.rule.name))
        correct = predicted == truth
        self.far_errors += int(
            np.count_nonzero(~correct & (np.abs(margin) >= self.rule.far_margin))
        )
        self.confusion += np.bincount(truth * 2 + predicted, minlength=4)
        band = of(cube_bands(self.rule.name))
        self.band_total += np.bincount(band, minlength=n_bands)
        self.band_correct += np.bincount(band[correct], minlength=n_bands)
        bins = np.minimum((p * RELIABILITY_BINS).astype(np.int64), RELIABILITY_BINS - 1)
        self.rel_count += np.bincount(bins, minlength=RELIABILITY_BINS)
        self.rel_p_sum += np.bincount(bins, weights=p, minlength=RELIABILITY_BINS)
        self.rel_black += np.bincount(bins[truth], minlength=RELIABILITY_BINS)
        for name in RULES:
            self.agreement[name] += int(np.count_nonzero(predicted == of(cube_labels(name))))
        # Contrast is monotone in luminance (rising for black text, falling for white), so the
        # lowest chosen contrast comes from the extreme luminances, and AA is a cached verdict.
        luminance = of(cube_luminance())
        black_aa, white_aa = of(cube_aa(True)), of(cube_aa(False))
        if predicted.any():
            darkest = luminance[predicted].min(keepdims=True)
            self.min_contrast = min(self.min_contrast, float(text_contrast(darkest, True)[0]))
        if not predicted.all():
            lightest = luminance[~predicted].max(keepdims=True)
            self.min_contrast = min(self.min_contrast, float(text_contrast(lightest, False)[0]))
        chosen_aa = np.where(predicted, black_aa, white_aa)
        other_aa = np.where(predicted, white_aa, black_aa)
        self.aa_count += int(np.count_nonzero(chosen_aa))
        self.aa_lost += int(np.count_nonzero(~chosen_aa & other_aa & ~correct))
        wrong = np.flatnonzero(~correct)
        if len(wrong):
            positions = np.arange(start, stop, dtype=np.int64)
            if keep is not None:
                positions = positions[keep]
            self.worst_index = np.concatenate([self.worst_index, positions[wrong]])
            self.worst_margin = np.concatenate([self.worst_margin, np.abs(margin[wrong])])
            # Candidates kept per hue, not overall: a rarer hue's worst error stays a candidate
            # however many larger ones another hue holds.
            keep_worst = hue_worst(hue_buckets(self.worst_index), self.worst_margin)
            self.worst_index = self.worst_index[keep_worst]
            self.worst_margin = self.worst_margin[keep_worst]

    def reliability(self) -> tuple[list[ReliabilityBin], float]:
        """The reliability diagram's bins and the expected calibration error."""
        bins = []
        ece = 0.0
        for i in range(RELIABILITY_BINS):
            count = int(self.rel_count[i])
            mean_p = float(self.rel_p_sum[i] / count) if count else None
            share = float(self.rel_black[i] / count) if count else None
            if mean_p is not None and share is not None:
                ece += abs(mean_p - share) * count
            bins.append(
                ReliabilityBin(
                    bin=f"{i / RELIABILITY_BINS:.1f}-{(i + 1) / RELIABILITY_BINS:.1f}",
                    count=count,
                    mean_p_black=mean_p,
                    black_share=share,
                )
            )
        return bins, float(ece / max(self.colours, 1))


def evaluate_cube(
    table: CubeTable, rule: Rule, seen: npt.NDArray[np.bool_] | None = None
) -> CubeEvaluation:
    """Accuracy, confusion, boundary bands, far errors, worst errors, calibration, grey ramp,
    rule agreement and WCAG contrast of the chosen text colour, for one cube table against one
    rule, over the colours outside `seen` (a 2^24 mask of the colours the model trained or
    validated on). Without `seen`, or when it holds every colour, over the whole cube, and the
    result says which (`scope`)."""
    tally = _CubeTally(rule)
    held_out = seen is not None and not bool(seen.all())
    seen_errors = 0
    labels = cube_labels(rule.name)
    for start in range(0, CUBE_SIZE, CUBE_CHUNK):
        stop = min(start + CUBE_CHUNK, CUBE_SIZE)
        p = np.asarray(table[start:stop], dtype=np.float32)
        if not held_out:
            tally.add(start, stop, None, p)
            continue
        assert seen is not None
        was_seen = seen[start:stop]
        tally.add(start, stop, ~was_seen, p[~was_seen])
        seen_errors += int(
            np.count_nonzero(black_text(p[was_seen]) != labels[start:stop][was_seen])
        )
    errors = int(tally.confusion[1] + tally.confusion[2])
    colours = max(tally.colours, 1)
    scope: Scope = "held-out" if held_out else ("whole cube" if seen is None else "training fit")
    near = float(boundary_band_edge(rule))
    inside = int((tally.edges < near + 1e-12).sum())  # bands wholly inside |m| < near
    near_total = int(tally.band_total[:inside].sum())
    near_correct = int(tally.band_correct[:inside].sum())
    reliability, ece = tally.reliability()
    order = diverse_worst(tally.worst_index, tally.worst_margin)
    return CubeEvaluation(
        rule=rule.name,
        scope=scope,
        colours=tally.colours,
        seen_colours=CUBE_SIZE - tally.colours,
        seen_errors=seen_errors if held_out else None,
        accuracy=1 - errors / colours,
        errors=errors,
        far_margin=rule.far_margin,
        far_errors=tally.far_errors,
        aa_lost=tally.aa_lost,
        confusion=Confusion.from_counts(tally.confusion),
        bands=[
            Band(
                band=label,
                colours=int(total),
                errors=int(total - correct),
                accuracy=float(correct / total) if total else None,
            )
            for label, total, correct in zip(
                _band_labels(rule.band_edges), tally.band_total, tally.band_correct, strict=True
            )
        ],
        boundary_band=BoundaryBand(
            max_abs_margin=near,
            colours=near_total,
            errors=near_total - near_correct,
            accuracy=near_correct / near_total if near_total else None,
        ),
        margin_unit=rule.margin_unit,
        worst_errors=[colour_entry(int(tally.worst_index[p]), table, rule) for p in order],
        reliability=reliability,
        ece=ece,
        grey_ramp=grey_ramp(table),
        rule_agreement={name: count / colours for name, count in tally.agreement.items()},
        wcag=ContrastSummary(min_contrast=tally.min_contrast, aa_share=tally.aa_count / colours),
    )


def colour_entry(index: int, table: CubeTable, rule: Rule | None = None) -> ColourEntry:
    """One cube colour for the report: its model answer, and the rule's when a rule is given."""
    rgb = [int(c) for c in cube_colours(index, index + 1)[0]]
    p = float(table[index])
    margin = None if rule is None else float(rule.margin(np.array(rgb)))
    return ColourEntry(
        rgb=rgb,
        hex="#{:02x}{:02x}{:02x}".format(*rgb),
        p_black=p,
        predicted=text_color_name(p > 0.5),  # the scalar form of black_text
        expected=None if margin is None else text_color_name(margin > 0),
        margin=margin,
    )


def grey_ramp(table: CubeTable) -> GreyRamp:
    """P(black) on the greys (v, v, v) and the grey level(s) where the decision flips."""
    greys = np.arange(256)
    p = np.asarray(
        table[cube_index(np.repeat(greys, 3).reshape(-1, 3).astype(np.uint8))], dtype=np.float64
    )
    black = black_text(p)
    flips = [int(v) for v in np.flatnonzero(black[1:] != black[:-1]) + 1]
    return GreyRamp(
        p_black=[round(float(x), 5) for x in p],
        flip_at=flips[0] if len(flips) == 1 else None,
        flips=flips,
    )


def rule_cube_table(rule: Rule) -> CubeTable:
    """The rule itself as a 'model' (P(black) = 0 or 1): the 100 % reference in reports."""
    table: CubeTable = cube_labels(rule.name).astype(np.float16)
    return table


def evaluate_split(
    p_black: npt.NDArray[np.float32], rgb: npt.NDArray[Any], rule: Rule
) -> SplitEvaluation:
    """Accuracy and confusion of predictions on a dataset split (e.g. the held-out test split)."""
    predicted = black_text(p_black)
    truth = rule.margin(rgb) > 0
    confusion = np.bincount(truth.astype(np.int64) * 2 + predicted, minlength=4)
    errors = int(confusion[1] + confusion[2])
    return SplitEvaluation(
        rows=len(truth),
        accuracy=1 - errors / len(truth) if len(truth) else None,
        errors=errors,
        confusion=Confusion.from_counts(confusion),
    )


def sample_colours(table: CubeTable, count: int = 24, seed: int = 0) -> list[ColourEntry]:
    """Real colours for the swatch grid: half anywhere in the cube, half near mid-grey."""
    rng = np.random.default_rng(seed)
    anywhere = rng.integers(0, CUBE_SIZE, count // 2)
    near = rng.integers(100, 156, size=(count - count // 2, 3)).astype(np.uint8)
    indices = np.concatenate([anywhere, cube_index(near)])
    return [colour_entry(int(index), table) for index in indices]
