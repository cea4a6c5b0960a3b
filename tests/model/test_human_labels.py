"""Training on your own labels: a brand that wants white text on its bright oranges, where WCAG
picks black. Imported with messy rows, mixed with the WCAG rule for the rest of the cube, the
model learns the brand's region and keeps WCAG elsewhere; its family promotes on held-out
human accuracy."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import fontpipe
from cli.app import app
from fontpipe.color.rules import get_rule
from fontpipe.data.datasets import open_dataset
from fontpipe.model import ModelConfig
from fontpipe.schema import black_text
from fontpipe.training.inputs import InputConfig


def brand_orange(rgb: np.ndarray) -> np.ndarray:
    """Bright, saturated oranges: hue 20-45 degrees, saturation >= 0.7, value >= 0.8."""
    x = rgb.astype(np.float64) / 255
    high, low = x.max(axis=1), x.min(axis=1)
    span = np.where(high > low, high - low, 1)
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    hue = (
        np.where(
            high == r,
            ((g - b) / span) % 6,
            np.where(high == g, (b - r) / span + 2, (r - g) / span + 4),
        )
        * 60
    )
    saturation = np.where(high > 0, (high - low) / np.where(high > 0, high, 1), 0)
    return (hue >= 20) & (hue <= 45) & (saturation >= 0.7) & (high >= 0.8)


def orange_colours(rng: np.random.Generator, n: int) -> np.ndarray:
    found = []
    while sum(len(f) for f in found) < n:
        candidates = rng.integers(0, 256, (200_000, 3), dtype=np.uint8)
        found.append(candidates[brand_orange(candidates)])
    return np.concatenate(found)[:n]


@pytest.fixture(scope="module")
def labelled_file(tmp_path_factory):
    rng = np.random.default_rng(21)
    anywhere = rng.integers(0, 256, (5_000, 3), dtype=np.uint8)
    oranges = orange_colours(rng, 1_500)
    rgb = np.concatenate([anywhere, oranges])
    black = get_rule("wcag").label(rgb).astype(bool) & ~brand_orange(rgb)
    lines = ["swatch,background,text"]
    for i, (colour, is_black) in enumerate(zip(rgb, black, strict=True)):
        text = "#{:02x}{:02x}{:02x}".format(*colour)
        if i % 3 == 1:
            text = "rgb({} {} {})".format(*colour)
        label = ("black", "1", "#000")[i % 3] if is_black else ("White", "0", "#FFF")[i % 3]
        lines.append(f"s{i},{text},{label}")
    # Messy rows: a bad colour, a bad label, one colour voted 2:1, one tied 1:1.
    lines += [
        "bad1,#ggg,black",
        "bad2,#123456,grey",
        "vote,#336699,black",
        "vote,#336699,black",
        "vote,#336699,white",
        "tie,#00ff7e,white",
        "tie,#00ff7e,black",
    ]
    path = tmp_path_factory.mktemp("labels") / "brand-palette.csv"
    path.write_text("\n".join(lines) + "\n")
    return path, len(rgb) + 7


@pytest.fixture(scope="module")
def imported(labelled_file, tmp_path_factory):
    path, rows = labelled_file
    out = tmp_path_factory.mktemp("data") / "datasets" / "brand"
    result = CliRunner().invoke(
        app,
        ["import-labels", str(path), "--text-column", "text", "--out", str(out), "--json"],
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output), out, rows


def test_import_accounts_for_every_row_and_resolves_conflicts(imported):
    summary, out, rows = imported
    schema = Path(__file__).resolve().parents[2] / "schemas" / "import-labels.json"
    jsonschema.validate(summary, json.loads(schema.read_text()))
    assert summary["rule"] == "human:brand" and summary["rows_read"] == rows
    assert summary["rows_rejected"] == 2
    assert summary["conflicting_colours"] >= 2 and summary["ties"] >= 1
    assert (
        summary["colours"] + summary["rows_merged"] + summary["rows_rejected"]
        == summary["rows_read"]
    )
    rejects = (out.parent / "brand.rejects.csv").read_text()
    assert "#ggg" in rejects and "invalid hex colour" in rejects
    assert "grey" in rejects and "not a text colour" in rejects
    dataset = open_dataset(out)
    assert dataset.manifest["label_source"] == "human" and dataset.rule == "human:brand"
    assert sum(dataset.split_rows(s) for s in ("train", "val", "test")) == summary["colours"]
    from fontpipe.data.datasets import read_split_arrays

    colours = {
        tuple(c): int(label)
        for split in ("train", "val", "test")
        for c, label in zip(*read_split_arrays(dataset, split), strict=True)
    }
    assert colours[(0x33, 0x66, 0x99)] == 1  # two votes to one: black
    # The three votes for #336699 became one colour: no colour is in two splits.
    by_split = {
        split: {tuple(c) for c in read_split_arrays(dataset, split)[0].astype(int).tolist()}
        for split in ("train", "val", "test")
    }
    assert sum(len(c) for c in by_split.values()) == len(colours)
    assert dataset.manifest["colour_splits"]["shared_colours"] == 0
    assert colours[(0x00, 0xFF, 0x7E)] == 1  # a tie: black, the higher WCAG contrast


@pytest.mark.slow
def test_a_learned_departure_from_wcag_and_its_family_promotion(imported, tmp_path):
    _, out, _ = imported
    models = tmp_path / "models"
    config = fontpipe.TrainConfig(
        model=ModelConfig(hidden=(32, 32, 16)),
        inputs=InputConfig(batch_size=256),
        epochs=8,
        learning_rate=0.005,
        early_stopping_patience=8,
        prior="wcag",
        prior_weight=0.3,
        prior_rows=100_000,
        device="cpu",
    )
    version = fontpipe.train(out, config, models)
    assert version.rule == "human:brand"
    model = fontpipe.load_model(version.path, rule="human:brand", models_dir=models)
    rng = np.random.default_rng(99)
    inside = orange_colours(rng, 2_000)
    outside = rng.integers(0, 256, (50_000, 3), dtype=np.uint8)
    outside = outside[~brand_orange(outside)]
    said_inside = black_text(np.asarray(model.predict(inside).column("p_black")))
    said_outside = black_text(np.asarray(model.predict(outside).column("p_black")))
    wcag = get_rule("wcag")
    assert wcag.label(inside).mean() > 0.8  # WCAG wants black on most of these oranges
    assert (~said_inside).mean() >= 0.9  # the model learned the brand's white text there
    assert (said_outside == wcag.label(outside).astype(bool)).mean() >= 0.97  # WCAG elsewhere

    metrics = fontpipe.evaluate(
        version.path, report=tmp_path / "r" / "report.html", models_dir=models
    )
    assert metrics.family == "human:brand" and metrics.rule == "wcag"
    assert metrics.human is not None and metrics.human.test_accuracy >= 0.95
    assert 0.005 < metrics.human.departure_share < 0.1
    assert metrics.headline.accuracy == metrics.human.test_accuracy  # what the family promotes on
    html = (tmp_path / "r" / "report.html").read_text()
    assert 'id="human"' in html and "departs from wcag" in html

    from fontpipe.evaluation.evaluate_version import compare_evaluation_with_champion
    from fontpipe.registry.champions import champion, promote

    promote(models, version.name, "first brand model")
    assert champion(models, "human:brand") == version.name
    # The family's champion answers on the command line too, named by --rule.
    orange = "#{:02x}{:02x}{:02x}".format(*inside[0])
    answered = CliRunner().invoke(
        app,
        ["predict", orange, "--rule", "human:brand", "--models-dir", str(models), "--json"],
    )
    assert answered.exit_code == 0, answered.output
    answer = json.loads(answered.stdout)
    assert answer["model_version"] == version.name
    assert [p["text_color"] for p in answer["predictions"]] == ["white"]
    weaker = fontpipe.train(
        out, config.model_copy(update={"epochs": 1, "prior_weight": 0.9, "seed": 3}), models
    )
    weaker_metrics = fontpipe.evaluate(weaker.path, models_dir=models)
    comparison = compare_evaluation_with_champion(models, weaker_metrics)
    assert comparison.champion == version.name and comparison.rule == "human:brand"
    assert comparison.champion_metrics is not None
    assert comparison.champion_metrics.accuracy == metrics.human.test_accuracy
    assert not comparison.promote, comparison.reason
    assert champion(models, "wcag") is None  # no other family is touched


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_parquet_and_json_lines_import_the_same_way(suffix, tmp_path):
    rows = {
        "colour": ["#ffffff", "oklch(30% 0.1 250)", "#000", "nope"],
        "text": ["black", "white", "white", "black"],
    }
    path = tmp_path / f"labels{suffix}"
    if suffix == ".parquet":
        pq.write_table(pa.table(rows), path)
    else:
        path.write_text(
            "".join(
                json.dumps({"colour": c, "text": t}) + "\n"
                for c, t in zip(*rows.values(), strict=True)
            )
        )
    from fontpipe.data.labels import LabelImportConfig, import_labels

    done = import_labels(
        path,
        tmp_path / "ds",
        LabelImportConfig(text_column="text", split_fractions=(0.34, 0.33, 0.33)),
    )
    assert len(done.labelled.label) == 3 and len(done.labelled.rejects) == 1
    assert done.rejects_path is not None and "nope" in done.rejects_path.read_text()
