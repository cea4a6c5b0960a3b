"""Evaluate a saved model version end to end: cube table, metrics, baselines, HTML report.

The metrics live in `fontpipe.evaluate` (pure, from a cube table); this module loads models,
trains the original-recipe baseline and writes the report files.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from fontpipe.atomic import staging_path, write_json_atomic, write_text_atomic
from fontpipe.cube import CUBE_FILE, CubeTable, compute_cube_table, load_cube_table, save_cube_table
from fontpipe.errors import FontpipeError
from fontpipe.evaluate import (
    evaluate_cube,
    evaluate_split,
    headline,
    lookup_p_black,
    rule_cube_table,
    sample_colours,
)
from fontpipe.registry import write_evaluation
from fontpipe.rules import Rule, get_rule
from fontpipe.train import OriginalRecipe, load_model_version, train_original_recipe

Progress = Callable[[str], None]


@dataclass
class Assessment:
    version: str
    version_path: Path
    rule: Rule
    table: CubeTable
    metrics: dict[str, Any]  # JSON-able: what metrics.json holds


def ensure_cube_table(version_path: Path, model: Any | None = None) -> CubeTable:
    """The version's cube table, computed and saved beside the model on first use."""
    path = version_path / CUBE_FILE
    if path.exists():
        return load_cube_table(path)
    if model is None:
        model, _ = load_model_version(version_path)
    table = compute_cube_table(model)
    save_cube_table(table, path)
    return table


def assess_version(
    version_path: Path,
    *,
    rule_name: str | None = None,
    dataset_path: Path | None = None,
    recipe: OriginalRecipe | None = OriginalRecipe(),
    progress: Progress | None = None,
) -> Assessment:
    """Evaluate one version over the cube against `rule_name` (default: the rule it was trained on),
    on a dataset's test split when given, beside the rule itself and the original recipe."""
    say = progress or (lambda _: None)
    model, metadata = load_model_version(version_path)
    rule = get_rule(rule_name or metadata.get("rule", "mean"))
    timings: dict[str, float] = {}

    started = time.perf_counter()
    say("cube table")
    table = ensure_cube_table(version_path, model)
    timings["cube_table_s"] = time.perf_counter() - started
    started = time.perf_counter()
    say("metrics over the cube")
    evaluation = evaluate_cube(table, rule)
    timings["evaluate_s"] = time.perf_counter() - started
    if rule.name == metadata.get("rule"):
        write_evaluation(version_path, headline(evaluation), rule.name)

    say("the rule as a reference")
    baselines = {"rule": evaluate_cube(rule_cube_table(rule), rule)}
    if recipe is not None:
        say("training the original recipe")
        recipe_model, recipe_seconds = train_original_recipe(
            recipe.model_copy(update={"rule": rule.name})
        )
        baselines["original_recipe"] = evaluate_cube(compute_cube_table(recipe_model), rule)
        timings["original_recipe_train_s"] = recipe_seconds

    test_split = None
    if dataset_path is not None:
        say("held-out test split")
        test_split = assess_test_split(dataset_path, table, model, rule)

    metrics = {
        "version": metadata["version"],
        "rule": rule.name,
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "headline": headline(evaluation),
        "cube": evaluation,
        "baselines": {
            name: {
                "headline": headline(e),
                "bands": e["bands"],
                "grey_ramp": e["grey_ramp"],
                "reliability": e["reliability"],
                "ece": e["ece"],
                "margin_unit": e["margin_unit"],
            }
            for name, e in baselines.items()
        },
        "test_split": test_split,
        "model_metadata": metadata,
        "timings": timings,
    }
    if "original_recipe" in baselines:
        recipe_headline = headline(baselines["original_recipe"])
        metrics["beats_original_recipe"] = bool(
            evaluation["errors"] < recipe_headline["errors"]
            or (
                evaluation["errors"] == recipe_headline["errors"]
                and evaluation["boundary_band"]["accuracy"] >= recipe_headline["boundary_accuracy"]
            )
        )
    return Assessment(
        version=metadata["version"],
        version_path=version_path,
        rule=rule,
        table=table,
        metrics=metrics,
    )


def assess_test_split(
    dataset_path: Path, table: CubeTable, model: Any, rule: Rule
) -> dict[str, Any]:
    from fontpipe.inputs import read_split_arrays
    from fontpipe.store import open_dataset

    dataset = open_dataset(dataset_path)
    rgb, _ = read_split_arrays(dataset, "test")
    if len(rgb) == 0:
        raise FontpipeError(f"{dataset_path}: the test split is empty")
    if dataset.sampling == "uniform-float":
        from fontpipe.cube import probability_function

        p_black = probability_function(model)(rgb)
    else:
        p_black = lookup_p_black(table, rgb.astype(np.uint8))
    return {
        "dataset": str(dataset.path),
        "fingerprint": dataset.fingerprint,
        **evaluate_split(p_black, rgb, rule),
    }


def cube_headline(version_path: Path, rule_name: str) -> dict[str, Any]:
    """A version's headline metrics against a rule, from its cube table (computed if missing)."""
    from fontpipe.registry import verify_version

    verify_version(version_path)  # never compare against (or keep) a tampered champion silently
    evaluation = evaluate_cube(ensure_cube_table(version_path), get_rule(rule_name))
    return headline(evaluation)


def check_report_target(report: Path) -> Path:
    """Refuse a report path we cannot write, before any work."""
    report = Path(report)
    if report.exists() and report.is_dir():
        raise FontpipeError(f"{report}: is a directory; give a file name such as report.html")
    parent = report.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        probe = staging_path(report)
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise FontpipeError(
            f"{report}: cannot write the report there ({exc.strerror or exc})"
        ) from None
    return report


def render_report(assessment: Assessment) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape

    from fontpipe import plots

    m = assessment.metrics
    cube = m["cube"]
    curves = {"model": cube} | {
        name.replace("_", " "): b for name, b in m["baselines"].items() if name != "rule"
    }
    headline_rows = [{"name": f"model {assessment.version}", **m["headline"]}]
    names = {
        "rule": f"the {assessment.rule.name} rule itself",
        "original_recipe": "original recipe (10-10-5, 5,000 steps)",
    }
    headline_rows += [
        {"name": names.get(name, name), **b["headline"]} for name, b in m["baselines"].items()
    ]
    recipe = m["baselines"].get("original_recipe")
    if recipe is None:
        verdict = "No original-recipe baseline was computed for this report."
    elif m["beats_original_recipe"]:
        verdict = (
            f"This model beats the original recipe: {cube['errors']:,} errors over the cube against "
            f"{recipe['headline']['errors']:,}."
        )
    else:
        verdict = (
            f"This model does NOT beat the original recipe: {cube['errors']:,} errors over the cube against "
            f"{recipe['headline']['errors']:,}."
        )
    meta = m["model_metadata"]
    metadata_rows = [
        ("model version", meta["version"]),
        ("trained", meta.get("created")),
        ("dataset", meta["dataset"]["path"]),
        ("dataset fingerprint", meta["dataset"]["fingerprint"]),
        ("dataset rule / sampling", f"{meta['dataset']['rule']} / {meta['dataset']['sampling']}"),
        ("training config", meta["config"]),
        ("device", meta.get("device")),
        ("epochs run", meta.get("epochs_run")),
        ("model sha256", meta.get("model_sha256")),
        ("versions", meta.get("versions")),
        ("evaluation timings (s)", {k: round(v, 2) for k, v in m["timings"].items()}),
    ]
    environment = Environment(
        loader=PackageLoader("fontpipe", "templates"), autoescape=select_autoescape(["html"])
    )
    return environment.get_template("report.html").render(
        version=assessment.version,
        rule=assessment.rule.name,
        rule_description=assessment.rule.description,
        colours=cube["colours"],
        generated=m["generated"],
        headline=headline_rows,
        boundary_band_label=f"|m| < {cube['boundary_band']['max_abs_margin']:g}",
        beats_recipe=m.get("beats_original_recipe", False),
        verdict=verdict,
        bands=cube["bands"],
        recipe_bands=recipe["bands"] if recipe else None,
        margin_unit=cube["margin_unit"],
        confusion=cube["confusion"],
        reliability=cube["reliability"],
        ece=cube["ece"],
        grey_flip=cube["grey_ramp"]["flip_at"],
        grey_flips=cube["grey_ramp"]["flips"],
        samples=sample_colours(assessment.table),
        worst=cube["worst_errors"],
        rule_agreement=cube["rule_agreement"],
        wcag=cube["wcag"],
        test_split=m["test_split"],
        metadata_rows=metadata_rows,
        plots={
            "bands": plots.accuracy_by_band_png(curves),
            "reliability": plots.reliability_png(curves),
            "decision_maps": plots.decision_maps_png(assessment.table, assessment.rule),
            "grey_ramp": plots.grey_ramp_png(curves),
        },
    )


def write_report(assessment: Assessment, report: Path) -> Path:
    """The HTML report and `metrics.json` beside it, each written atomically; returns the metrics path."""
    html = render_report(assessment)
    metrics_path = report.parent / "metrics.json"
    write_json_atomic(metrics_path, assessment.metrics)
    write_text_atomic(report, html)
    return metrics_path
