"""Report figures as base64 PNG strings, so the HTML report embeds them and opens offline."""

from __future__ import annotations

# matplotlib loads on first use: about 1 s at start-up, for the report's figures only.
import base64
import io
from typing import Any

import numpy as np

from fontpipe.color.cube import CubeTable
from fontpipe.color.rules import Rule
from fontpipe.schema import CUBE_SIZE


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use(
        "Agg"
    )  # no display; set here rather than at import so importing is side-effect free
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def accuracy_by_band_png(evaluations: dict[str, dict[str, Any]]) -> str:
    """Accuracy per |margin| band, one line per model (the rule itself is the 100 % line)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    for name, evaluation in evaluations.items():
        bands = evaluation["bands"]
        ax.plot(
            range(len(bands)), [100 * (b["accuracy"] or 0) for b in bands], marker="o", label=name
        )
    labels = [
        b["band"].replace(" <= |m| < ", "-").replace("|m| ", "")
        for b in next(iter(evaluations.values()))["bands"]
    ]
    ax.set_xticks(range(len(labels)), labels, rotation=20, fontsize=8)
    ax.set_xlabel(
        f"distance to the boundary |margin| ({next(iter(evaluations.values()))['margin_unit']})"
    )
    ax.set_ylabel("accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


# A calibration point from fewer colours than this is noise (a share from 100 colours is
# uncertain by about five points either way): such bins are counted below, not plotted.
CALIBRATION_MIN_COLOURS = 100


def plotted_bin(reliability_bin: dict[str, Any]) -> bool:
    """Whether a P(black) bin holds enough colours to stand as a point of the diagram."""
    return int(reliability_bin["count"]) >= CALIBRATION_MIN_COLOURS


def reliability_figure(evaluations: dict[str, dict[str, Any]]) -> Any:
    """The reliability diagram (bins with too few colours left out) over the colours each bin
    holds, one bar per model and bin on a log scale; the first model's bars say their count."""
    plt = _pyplot()
    fig, (ax, counts_ax) = plt.subplots(
        2, 1, figsize=(5.2, 6.0), sharex=True, gridspec_kw={"height_ratios": (3, 1.6)}
    )
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect calibration")
    width = 0.1 / (len(evaluations) + 1)
    for position, (name, evaluation) in enumerate(evaluations.items()):
        bins = evaluation["reliability"]
        points = [(r["mean_p_black"], r["black_share"]) for r in bins if plotted_bin(r)]
        ax.plot(
            [p for p, _ in points],
            [s for _, s in points],
            marker="o",
            label=f"{name} (ECE {evaluation['ece']:.4f})",
        )
        lefts = [i / len(bins) + width * (position + 0.5) for i in range(len(bins))]
        bars = counts_ax.bar(lefts, [r["count"] for r in bins], width, align="edge", label=name)
        if position == 0:
            labels = [f"{r['count']:,}" if r["count"] else "0" for r in bins]
            counts_ax.bar_label(bars, labels=labels, fontsize=6, rotation=90, padding=2)
    ax.set_ylabel("share that really needs black text")
    ax.set_title(
        f"bins with fewer than {CALIBRATION_MIN_COLOURS} colours are not plotted", fontsize=8
    )
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    counts_ax.set_yscale("symlog", linthresh=1)
    counts_ax.set_ylim(0, CUBE_SIZE * 40)  # room for the count labels above the tallest bar
    counts_ax.axhline(CALIBRATION_MIN_COLOURS, color="grey", linewidth=0.8, linestyle=":")
    counts_ax.set_xlabel("predicted P(black)")
    counts_ax.set_ylabel("colours in the bin")
    counts_ax.set_xticks([i / 10 for i in range(11)])
    counts_ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


def reliability_png(evaluations: dict[str, dict[str, Any]]) -> str:
    return _png(reliability_figure(evaluations))


def decision_maps_png(
    table: CubeTable, rule: Rule, blue_levels: tuple[int, ...] = (0, 85, 170, 255)
) -> str:
    """The red-green plane at several blue levels, drawn in the real background colours, with
    "Aa" in the text colour the model picks on a grid of them; the model's boundary as a solid
    line, the rule's as a dashed one."""
    plt = _pyplot()
    cube = np.asarray(table).reshape(256, 256, 256)  # [r, g, b]
    columns = 2
    rows = -(-len(blue_levels) // columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(4.6 * columns, 4.6 * rows), constrained_layout=True, squeeze=False
    )
    grid_r, grid_g = np.meshgrid(np.arange(256), np.arange(256), indexing="ij")
    labels = np.linspace(16, 240, 8).astype(int)
    for ax, blue in zip(axes.ravel(), blue_levels, strict=False):
        background = np.stack([grid_r, grid_g, np.full_like(grid_r, blue)], axis=-1)
        ax.imshow(background.astype(np.uint8), origin="lower", extent=(0, 255, 0, 255))
        p_black = cube[:, :, blue].astype(np.float32)
        if p_black.min() < 0.5 < p_black.max():
            ax.contour(
                np.arange(256), np.arange(256), p_black, levels=[0.5], colors="#111", linewidths=1.4
            )
        margin = rule.margin(background.astype(np.uint8))
        if margin.min() < 0 < margin.max():
            ax.contour(
                np.arange(256),
                np.arange(256),
                margin,
                levels=[0],
                colors="#eee",
                linewidths=1.2,
                linestyles="dashed",
            )
        for r in labels:
            for g in labels:
                colour = "black" if cube[r, g, blue] > 0.5 else "white"
                ax.text(g, r, "Aa", color=colour, ha="center", va="center", fontsize=7)
        ax.set_title(f"blue = {blue}", fontsize=10)
        ax.set_xlabel("green", fontsize=9)
        ax.set_ylabel("red", fontsize=9)
        ax.tick_params(labelsize=8)
    for ax in axes.ravel()[len(blue_levels) :]:
        ax.set_visible(False)
    return _png(fig)


def question_maps_png(planes: list[tuple[int, Any]]) -> str:
    """The red-green plane at several blue levels: in the real colour where `readable` answers
    otherwise than the browser, darkened where only `apca` does, light grey where all agree."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(planes), figsize=(3.2 * len(planes), 3.4), squeeze=False)
    for ax, (blue, image) in zip(axes.ravel(), planes, strict=True):
        ax.imshow(image, origin="lower", extent=(0, 255, 0, 255))
        ax.set_title(f"blue = {blue}", fontsize=10)
        ax.set_xlabel("green", fontsize=9)
        ax.set_ylabel("red", fontsize=9)
        ax.tick_params(labelsize=8)
    fig.tight_layout()
    return _png(fig)


def grey_ramp_png(evaluations: dict[str, dict[str, Any]]) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 3.0))
    for name, evaluation in evaluations.items():
        ax.plot(range(256), evaluation["grey_ramp"]["p_black"], label=name)
    ax.axhline(0.5, color="grey", linewidth=0.8, linestyle="--")
    ax.imshow(np.arange(256)[None, :], extent=(0, 255, -0.12, -0.04), cmap="gray", aspect="auto")
    ax.set_ylim(-0.14, 1.04)
    ax.set_xlabel("grey level v of (v, v, v)")
    ax.set_ylabel("P(black)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _png(fig)


def training_curves_png(history: list[dict[str, float]]) -> str | None:
    """Loss and accuracy per epoch, training against validation; None without a history."""
    if not history:
        return None
    plt = _pyplot()
    fig, (loss_ax, accuracy_ax) = plt.subplots(1, 2, figsize=(9, 3.2))
    epochs = [int(row.get("epoch", i + 1)) for i, row in enumerate(history)]
    for ax, metric, label in ((loss_ax, "loss", "loss"), (accuracy_ax, "accuracy", "accuracy")):
        for prefix, style in (("", "-"), ("val_", "--")):
            values = [row.get(prefix + metric) for row in history]
            points = [(e, v) for e, v in zip(epochs, values, strict=True) if v is not None]
            if points:
                ax.plot(
                    [e for e, _ in points],
                    [v for _, v in points],
                    style,
                    marker="o",
                    label="validation" if prefix else "training",
                )
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    loss_ax.set_yscale("log")
    fig.tight_layout()
    return _png(fig)
