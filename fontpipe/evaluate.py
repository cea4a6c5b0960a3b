"""Exhaustive evaluation over all 16,777,216 colours, plus the held-out test split.

Everything works from a cube table (P(black) per colour), so a model is run once per evaluation
and any rule can be checked against the same predictions.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import numpy.typing as npt

from fontpipe.cube import CubeTable, cube_index, iter_cube_chunks
from fontpipe.rules import RULES, Rule, relative_luminance
from fontpipe.schema import CUBE_SIZE, WCAG_AA_RATIO

RELIABILITY_BINS = 10
WORST_ERRORS = 24
GREY_STEP = (1 << 16) + (1 << 8) + 1  # cube index of (v, v, v) is v * GREY_STEP


def _band_labels(edges: tuple[float, ...]) -> list[str]:
    labels = [f"|m| < {edges[0]:g}"]
    labels += [f"{lo:g} <= |m| < {hi:g}" for lo, hi in itertools.pairwise(edges)]
    labels.append(f"|m| >= {edges[-1]:g}")
    return labels


def boundary_band_edge(rule: Rule) -> float:
    """The headline 'near the boundary' band: |margin| < the rule's second band edge
    (for `mean`, colours whose r+g+b lies within 3 of 382.5, where the original network fails)."""
    return rule.band_edges[1]


def evaluate_cube(table: CubeTable, rule: Rule) -> dict[str, Any]:
    """Accuracy, confusion, boundary bands, worst errors, calibration, grey ramp, rule agreement
    and WCAG contrast of the chosen text colour, for one cube table against one rule."""
    edges = np.asarray(rule.band_edges)
    n_bands = len(edges) + 1
    band_total = np.zeros(n_bands, np.int64)
    band_correct = np.zeros(n_bands, np.int64)
    confusion = np.zeros((2, 2), np.int64)  # [true label, predicted]
    rel_count = np.zeros(RELIABILITY_BINS, np.int64)
    rel_p_sum = np.zeros(RELIABILITY_BINS, np.float64)
    rel_black = np.zeros(RELIABILITY_BINS, np.int64)
    agreement = {name: 0 for name in RULES}
    min_contrast = np.inf
    aa_count = 0
    worst_index: npt.NDArray[np.int64] = np.zeros(0, np.int64)
    worst_margin: npt.NDArray[np.float64] = np.zeros(0)

    for start, rgb in iter_cube_chunks():
        p = np.asarray(table[start : start + len(rgb)], dtype=np.float32)
        predicted = p > 0.5
        margin = rule.margin(rgb)
        truth = margin > 0
        correct = predicted == truth
        confusion += np.bincount(truth * 2 + predicted, minlength=4).reshape(2, 2)
        band = np.digitize(np.abs(margin), edges)
        band_total += np.bincount(band, minlength=n_bands)
        band_correct += np.bincount(band, weights=correct, minlength=n_bands).astype(np.int64)
        bins = np.minimum((p * RELIABILITY_BINS).astype(np.int64), RELIABILITY_BINS - 1)
        rel_count += np.bincount(bins, minlength=RELIABILITY_BINS)
        rel_p_sum += np.bincount(bins, weights=p, minlength=RELIABILITY_BINS)
        rel_black += np.bincount(bins, weights=truth, minlength=RELIABILITY_BINS).astype(np.int64)
        for name, other in RULES.items():
            agreement[name] += int(np.count_nonzero(predicted == (other.margin(rgb) > 0)))
        luminance = relative_luminance(rgb)
        # Black text: (L + 0.05) / 0.05; white text: 1.05 / (L + 0.05).
        contrast = np.where(predicted, (luminance + 0.05) / 0.05, 1.05 / (luminance + 0.05))
        min_contrast = min(min_contrast, float(contrast.min()))
        aa_count += int(np.count_nonzero(contrast >= WCAG_AA_RATIO))
        wrong = np.flatnonzero(~correct)
        if len(wrong):
            worst_index = np.concatenate([worst_index, wrong + start])
            worst_margin = np.concatenate([worst_margin, np.abs(margin[wrong])])
            if len(worst_index) > WORST_ERRORS:
                keep = np.argsort(-worst_margin, kind="stable")[:WORST_ERRORS]
                worst_index, worst_margin = worst_index[keep], worst_margin[keep]

    errors = int(confusion[0, 1] + confusion[1, 0])
    near = float(boundary_band_edge(rule))
    near_bands = edges < near + 1e-12  # bands wholly inside |m| < near
    near_total = int(band_total[: int(near_bands.sum())].sum())
    near_correct = int(band_correct[: int(near_bands.sum())].sum())
    reliability = [
        {
            "bin": f"{i / RELIABILITY_BINS:.1f}-{(i + 1) / RELIABILITY_BINS:.1f}",
            "count": int(rel_count[i]),
            "mean_p_black": float(rel_p_sum[i] / rel_count[i]) if rel_count[i] else None,
            "black_share": float(rel_black[i] / rel_count[i]) if rel_count[i] else None,
        }
        for i in range(RELIABILITY_BINS)
    ]
    ece = float(
        sum(
            abs(rel_p_sum[i] / rel_count[i] - rel_black[i] / rel_count[i]) * rel_count[i]
            for i in range(RELIABILITY_BINS)
            if rel_count[i]
        )
        / CUBE_SIZE
    )
    order = np.argsort(-worst_margin, kind="stable")
    worst = [_colour_entry(int(i), table, rule) for i in worst_index[order]]
    grey = grey_ramp(table)
    return {
        "rule": rule.name,
        "colours": CUBE_SIZE,
        "accuracy": 1 - errors / CUBE_SIZE,
        "errors": errors,
        "confusion": {
            "true_white_pred_white": int(confusion[0, 0]),
            "true_white_pred_black": int(confusion[0, 1]),
            "true_black_pred_white": int(confusion[1, 0]),
            "true_black_pred_black": int(confusion[1, 1]),
        },
        "bands": [
            {
                "band": label,
                "colours": int(band_total[i]),
                "errors": int(band_total[i] - band_correct[i]),
                "accuracy": float(band_correct[i] / band_total[i]) if band_total[i] else None,
            }
            for i, label in enumerate(_band_labels(rule.band_edges))
        ],
        "boundary_band": {
            "max_abs_margin": near,
            "colours": near_total,
            "errors": near_total - near_correct,
            "accuracy": near_correct / near_total if near_total else None,
        },
        "margin_unit": rule.margin_unit,
        "worst_errors": worst,
        "reliability": reliability,
        "ece": ece,
        "grey_ramp": grey,
        "rule_agreement": {name: count / CUBE_SIZE for name, count in agreement.items()},
        "wcag": {"min_contrast": min_contrast, "aa_share": aa_count / CUBE_SIZE},
    }


def _colour_entry(index: int, table: CubeTable, rule: Rule) -> dict[str, Any]:
    rgb = [(index >> 16) & 255, (index >> 8) & 255, index & 255]
    p = float(table[index])
    return {
        "rgb": rgb,
        "hex": "#{:02x}{:02x}{:02x}".format(*rgb),
        "p_black": p,
        "predicted": "black" if p > 0.5 else "white",
        "expected": "black" if rule.margin(np.array(rgb)) > 0 else "white",
        "margin": float(rule.margin(np.array(rgb))),
    }


def grey_ramp(table: CubeTable) -> dict[str, Any]:
    """P(black) on the greys (v, v, v) and the grey level(s) where the decision flips."""
    greys = np.arange(256)
    p = np.asarray(table[greys * GREY_STEP], dtype=np.float64)
    black = p > 0.5
    flips = [int(v) for v in np.flatnonzero(black[1:] != black[:-1]) + 1]
    return {
        "p_black": [round(float(x), 5) for x in p],
        "flip_at": flips[0] if len(flips) == 1 else None,
        "flips": flips,
    }


def rule_cube_table(rule: Rule) -> CubeTable:
    """The rule itself as a 'model' (P(black) = 0 or 1): the 100 % reference in reports."""
    table = np.empty(CUBE_SIZE, dtype=np.float16)
    for start, rgb in iter_cube_chunks():
        table[start : start + len(rgb)] = rule.label(rgb)
    return table


def evaluate_split(
    p_black: npt.NDArray[np.float32], rgb: npt.NDArray[Any], rule: Rule
) -> dict[str, Any]:
    """Accuracy and confusion of predictions on a dataset split (e.g. the held-out test split)."""
    predicted = p_black > 0.5
    truth = rule.margin(rgb) > 0
    confusion = np.bincount(truth.astype(np.int64) * 2 + predicted, minlength=4)
    errors = int(confusion[1] + confusion[2])
    return {
        "rows": len(truth),
        "accuracy": 1 - errors / len(truth) if len(truth) else None,
        "errors": errors,
        "confusion": {
            "true_white_pred_white": int(confusion[0]),
            "true_white_pred_black": int(confusion[1]),
            "true_black_pred_white": int(confusion[2]),
            "true_black_pred_black": int(confusion[3]),
        },
    }


def lookup_p_black(table: CubeTable, rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    return np.asarray(table[cube_index(rgb)], dtype=np.float32)


def headline(evaluation: dict[str, Any]) -> dict[str, Any]:
    return {
        "accuracy": evaluation["accuracy"],
        "errors": evaluation["errors"],
        "boundary_accuracy": evaluation["boundary_band"]["accuracy"],
        "ece": evaluation["ece"],
        "aa_share": evaluation["wcag"]["aa_share"],
        "min_contrast": evaluation["wcag"]["min_contrast"],
    }


def sample_colours(table: CubeTable, count: int = 24, seed: int = 0) -> list[dict[str, Any]]:
    """Real colours for the swatch grid: half anywhere in the cube, half near mid-grey."""
    rng = np.random.default_rng(seed)
    anywhere = rng.integers(0, CUBE_SIZE, count // 2)
    near = rng.integers(100, 156, size=(count - count // 2, 3)).astype(np.uint8)
    indices = np.concatenate([anywhere, cube_index(near)])
    out = []
    for index in indices:
        rgb = [(int(index) >> 16) & 255, (int(index) >> 8) & 255, int(index) & 255]
        p = float(table[index])
        out.append(
            {
                "rgb": rgb,
                "hex": "#{:02x}{:02x}{:02x}".format(*rgb),
                "p_black": p,
                "predicted": "black" if p > 0.5 else "white",
            }
        )
    return out
