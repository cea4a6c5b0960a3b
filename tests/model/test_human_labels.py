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


def test_wilson_interval_matches_the_published_values():
    from fontpipe.data.labels import wilson_interval

    # Newcombe (1998), table I: 81/263 -> 0.2553 to 0.3662; and 8/10, 10/10, 0/10.
    low, high = wilson_interval(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    assert tuple(round(x, 4) for x in wilson_interval(8, 10)) == (0.4902, 0.9433)
    assert wilson_interval(10, 10)[1] == pytest.approx(1.0)
    assert round(wilson_interval(10, 10)[0], 4) == 0.7225
    assert wilson_interval(0, 10)[0] == 0.0


def test_small_splits_are_warned_about_and_the_held_out_accuracy_has_an_interval(tmp_path):
    rng = np.random.default_rng(4)
    rgb = rng.integers(0, 256, (100, 3), dtype=np.uint8)
    wcag = get_rule("wcag").label(rgb)
    lines = ["color,text"] + [
        "#{:02x}{:02x}{:02x},{}".format(*c, "black" if b else "white")
        for c, b in zip(rgb, wcag, strict=True)
    ]
    path = tmp_path / "few.csv"
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "datasets" / "few"
    args = ["import-labels", str(path), "--text-column", "text", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    schema = Path(__file__).resolve().parents[2] / "schemas" / "import-labels.json"
    jsonschema.validate(summary, json.loads(schema.read_text()))
    assert summary["small_splits"] == {"val": 10, "test": 10}
    assert "warning: the val split has 10 colours (fewer than 30)" in result.stderr
    assert "warning: the test split has 10 colours" in result.stderr
    held_out = {a["rule"]: a for a in summary["held_out"]}
    # These labels are the WCAG rule's: it gets every held-out colour right, and ten colours
    # still leave the interval's lower end near 72 %.
    assert held_out["wcag"]["right"] == held_out["wcag"]["colours"] == 10
    low, high = held_out["wcag"]["interval_95"]
    assert high == pytest.approx(1.0) and 0.70 < low < 0.75
    text = CliRunner().invoke(app, [*args, "--force"])
    assert text.exit_code == 0, text.output
    assert "held-out test split (10 colours)" in text.stdout and "wcag 100.00% (72.2-100.0%)" in (
        text.stdout
    )


def test_import_of_enough_colours_warns_of_nothing(imported):
    summary, _, _ = imported
    assert summary["small_splits"] == {}
    assert {a["rule"] for a in summary["held_out"]} == {"mean", "wcag", "yiq", "apca", "readable"}


def test_evaluate_of_a_human_model_shows_human_and_cube_figures_apart(imported, tmp_path):
    """Two titled tables: the held-out human labels (as the report's Human labels section) and
    the cube against the prior rule (as the report's headline), with the report's numbers."""
    _, out, _ = imported
    models = tmp_path / "models"
    config = fontpipe.TrainConfig(
        inputs=InputConfig(batch_size=256), epochs=1, prior="wcag", prior_rows=2_000, device="cpu"
    )
    version = fontpipe.train(out, config, models)
    report = tmp_path / "r" / "report.html"
    args = ["evaluate", "--model", version.name, "--models-dir", str(models), "--no-baseline"]
    shown = CliRunner().invoke(app, [*args, "--report", str(report)])
    assert shown.exit_code == 0, shown.output
    metrics = json.loads((report.parent / "metrics.json").read_text())
    human, cube = metrics["human"], metrics["cube"]
    text = shown.stdout
    human_title = f"model {version.name} on held-out human labels (human:brand)"
    cube_title = f"model {version.name} over the cube against the wcag rule"
    assert human_title in text and cube_title in " ".join(text.split())
    human_part, cube_part = text.split(human_title)[1].split("over the cube")
    assert f"{100 * human['test_accuracy']:.2f}% ({human['test_errors']:,} wrong)" in human_part
    assert f"{human['test_rows']:,} colours" in human_part and "95 % Wilson interval" in human_part
    assert f"{cube['errors']:,}" in cube_part and f"{human['test_errors']:,} wrong" not in cube_part
    html = report.read_text()
    assert f"{100 * human['test_accuracy']:.2f}%" in html
    as_json = CliRunner().invoke(app, [*args, "--report", str(report), "--json"])
    document = json.loads(as_json.stdout)
    schema = Path(__file__).resolve().parents[2] / "schemas" / "evaluate.json"
    jsonschema.validate(document, json.loads(schema.read_text()))
    assert document["family"] == "human:brand"
    assert document["human"]["test_accuracy"] == human["test_accuracy"]
    assert document["cube_headline"]["errors"] == cube["errors"]
    low, high = document["human"]["interval_95"]
    assert low < human["test_accuracy"] <= high + 1e-12
