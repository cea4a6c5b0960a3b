"""What the report says about the model itself: its card, the data it learned from (the rows
actually written, and any generated beside them), the training settings its family reads, and
for a human-label model the colours people labelled with the model's answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from fontpipe.color.cube import CubeTable, lookup_p_black
from fontpipe.schema import BLACK, CUBE_SIZE, SPLITS, black_text, text_color_name

# What each rule is, and is not, for the model card.
RULE_LIMITS = {
    "mean": (
        "The original question's rule: black text when the mean of r, g and b is above half. "
        "It is not an accessibility rule: for about a fifth of all colours the text it picks "
        "fails WCAG AA (4.5:1) where the other colour would pass. Use it as a baseline."
    ),
    "wcag": (
        "WCAG 2.x: the text colour (black or white) with the higher contrast ratio. The better "
        "of the two always reaches about 4.58:1, so a model that follows this rule keeps every "
        "background at AA for normal text. Use this one to choose readable text."
    ),
    "yiq": (
        "YIQ luma, a common web heuristic (luma >= 128 means black text). Close to perceived "
        "brightness but not a contrast guarantee: some answers fail AA."
    ),
}

# Training settings only the other family reads (fontpipe.training: the mlp is fitted by Keras
# from batches, channel tables by Newton's method on colours gathered from the files).
_MLP_ONLY = frozenset(
    {
        "model.hidden",
        "epochs",
        "learning_rate",
        "schedule",
        "final_lr_fraction",
        "early_stopping_patience",
        "inputs.batch_size",
        "inputs.memory_budget_mb",
        "inputs.shuffle_buffer_batches",
        "prior",
        "prior_weight",
        "prior_rows",
    }
)
_TABLES_ONLY = frozenset({"max_newton_steps"})
# Read only when a prior rule is mixed in.
_PRIOR_ONLY = frozenset({"prior_weight", "prior_rows"})

# A brand palette is tens to hundreds of colours; past this many the page lists the ones the
# model answers otherwise first, then the held-out ones, and says how many it left out.
LABELLED_SHOWN = 240


def architecture(config: dict[str, Any]) -> str:
    return str((config.get("model") or {}).get("architecture", "mlp"))


def _flat(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat |= _flat(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def family_config(config: dict[str, Any]) -> dict[str, Any]:
    """The training config as dotted names, without the settings its family never reads (a
    channel-table model has no layers or learning rate; an mlp takes no Newton steps). Settings
    this release does not know are kept: they may matter to the version that wrote them."""
    other = _MLP_ONLY if architecture(config) == "channel-tables" else _TABLES_ONLY
    unread = other | (_PRIOR_ONLY if config.get("prior") is None else frozenset())
    return {key: value for key, value in _flat(config).items() if key not in unread}


def config_text(config: dict[str, Any]) -> str:
    return ", ".join(f"{key}={_value_text(value)}" for key, value in family_config(config).items())


def _value_text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "-".join(str(v) for v in value)
    return "none" if value is None else str(value)


def data_text(meta: dict[str, Any], human: bool) -> str:
    """The model card's data row: the rows its dataset holds, split by split, and the rows
    training generated beside them (a human-label model's prior)."""
    dataset, config = meta["dataset"], meta["config"]
    rows = dataset["rows"]
    splits = " / ".join(f"{rows.get(split, 0):,}" for split in SPLITS)
    if human or dataset["sampling"] == "labelled":
        text = f"{sum(rows.values()):,} human-labelled colours (one row each)"
    else:
        text = (
            f"{sum(rows.values()):,} rows generated ({dataset['sampling']} sampling) and "
            f"labelled by {dataset['rule']}"
        )
    text += f"; train/val/test {splits}."
    if config.get("prior"):
        text += (
            f" Training added {config['prior_rows']:,} rows generated uniformly and labelled by "
            f"the {config['prior']} rule, carrying {config['prior_weight']:.0%} of the weight."
        )
    return text


def model_card(m: dict[str, Any], measured_on: str) -> list[tuple[str, str]]:
    """The model card's rows, from the JSON values `metrics.json` holds."""
    meta, h, human = m["model_metadata"], m["headline"], m.get("human")
    if architecture(meta["config"]) == "channel-tables":
        model = (
            "a learned 256-knot table per channel, summed with a bias (float64), fitted by "
            "Newton's method"
        )
    else:
        hidden = meta["config"]["model"]["hidden"]
        model = f"a {'-'.join(str(w) for w in hidden)} ReLU network (Adam)"
    held_out = (
        f" Held-out human labels: {100 * human['test_accuracy']:.2f}% right." if human else ""
    )
    card = [
        ("intended use", "Choosing black or white text for a background colour (8-bit sRGB)."),
        ("rule learned", f"{meta['rule']}: {RULE_LIMITS.get(meta['rule'], '')}"),
        ("data", data_text(meta, bool(human))),
        (
            "metrics",
            f"{m['cube']['errors']:,} disagreements with the {m['rule']} rule "
            f"({m['cube']['far_errors']:,} far from the boundary) on {measured_on}; "
            f"{100 * h['aa_share']:.2f}% of answers reach WCAG AA; minimum contrast "
            f"{h['min_contrast']:.2f}:1.{held_out}",
        ),
        ("model", f"{model}; {meta.get('device')}."),
    ]
    fit = meta.get("fit") or {}
    if fit.get("chosen"):
        colours = fit.get("train_colours")
        learned = (
            f"; it learned from {colours:,} distinct colours "
            f"({100 * colours / CUBE_SIZE:.2f}% of the cube)"
            if isinstance(colours, int)
            else ""
        )
        why = f" Why this family: {fit['why']}." if fit.get("why") else ""
        card.append(("how it was fitted", f"{fit['chosen']}{learned}.{why}"))
    return card


def metadata_rows(m: dict[str, Any]) -> list[tuple[str, Any]]:
    meta = m["model_metadata"]
    tables = architecture(meta["config"]) == "channel-tables"
    return [
        ("model version", meta["version"]),
        ("trained", meta.get("created")),
        ("dataset", meta["dataset"]["path"]),
        ("dataset fingerprint", meta["dataset"]["fingerprint"]),
        ("dataset rule / sampling", f"{meta['dataset']['rule']} / {meta['dataset']['sampling']}"),
        ("training config", config_text(meta["config"])),
        ("device", meta.get("device")),
        ("Newton steps run" if tables else "epochs run", meta.get("epochs_run")),
        ("model sha256", meta.get("model_sha256")),
        ("versions", meta.get("versions")),
        ("evaluation timings (s)", {k: round(v, 2) for k, v in m["timings"].items()}),
    ]


@dataclass(frozen=True)
class LabelledColour:
    hex: str
    split: str
    label: str  # the text colour people chose
    answer: str  # the model's
    p_black: float

    @property
    def agrees(self) -> bool:
        return self.label == self.answer


@dataclass(frozen=True)
class LabelledColours:
    shown: tuple[LabelledColour, ...]
    total: int
    disagreements: int  # over every labelled colour, shown or not

    @property
    def left_out(self) -> int:
        return self.total - len(self.shown)


def labelled_colours(
    splits: Mapping[str, tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]],
    table: CubeTable,
    limit: int = LABELLED_SHOWN,
) -> LabelledColours:
    """Each labelled colour (split -> (rgb (n, 3), label (n,), 1 = black)) with the model's
    answer from its cube table: those it answers otherwise first, then held-out colours before
    those it trained on, at most `limit` of them."""
    found: list[LabelledColour] = []
    for split, (rgb, label) in splits.items():
        colours = np.asarray(rgb).astype(np.uint8).reshape(-1, 3)
        p_black = lookup_p_black(table, colours)
        answers = black_text(p_black)
        for colour, wanted, answer, p in zip(colours, label, answers, p_black, strict=True):
            found.append(
                LabelledColour(
                    hex="#{:02x}{:02x}{:02x}".format(*colour.tolist()),
                    split=split,
                    label=text_color_name(bool(wanted == BLACK)),
                    answer=text_color_name(bool(answer)),
                    p_black=float(p),
                )
            )
    held_out_first = {"test": 0, "val": 1, "train": 2}
    found.sort(key=lambda c: (c.agrees, held_out_first.get(c.split, 3), c.hex))
    return LabelledColours(
        shown=tuple(found[:limit]),
        total=len(found),
        disagreements=sum(not c.agrees for c in found),
    )
