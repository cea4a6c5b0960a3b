"""The HTML report of an evaluation: one self-contained file (figures embedded as PNG), written
atomically with `metrics.json` beside it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fontpipe.atomic import staging_path, write_files_atomic
from fontpipe.errors import FontpipeError
from fontpipe.evaluation.evaluate_version import Evaluation
from fontpipe.evaluation.metrics import sample_colours

METRICS_FILE = "metrics.json"
REPORT_FILE = "report.html"


def default_report_path(reports_dir: Path, version: str) -> Path:
    """Where a version's report goes unless the user names a file: reports/<version>/report.html."""
    return reports_dir / version / REPORT_FILE


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


def render_report(evaluation: Evaluation) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape

    from fontpipe.evaluation import plots

    # The template reads plain JSON values, the same ones metrics.json holds.
    m: dict[str, Any] = evaluation.metrics.model_dump(mode="json")
    cube = m["cube"]
    curves = {"model": cube} | {
        name.replace("_", " "): b for name, b in m["baselines"].items() if name != "rule"
    }
    headline_rows = [{"name": f"model {evaluation.version.name}", **m["headline"]}]
    names = {
        "rule": f"the {evaluation.rule.name} rule itself",
        "original_recipe": "original recipe (10-10-5, 5,000 steps)",
    }
    headline_rows += [
        {"name": names.get(name, name), **b["headline"]} for name, b in m["baselines"].items()
    ]
    recipe = m["baselines"].get("original_recipe")
    verdict = _recipe_verdict(m)
    metadata_rows = _metadata_rows(m)
    environment = Environment(
        loader=PackageLoader("fontpipe", "templates"), autoescape=select_autoescape(["html"])
    )
    return environment.get_template("report.html").render(
        version=evaluation.version.name,
        rule=evaluation.rule.name,
        rule_description=evaluation.rule.description,
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
        samples=[s.model_dump() for s in sample_colours(evaluation.table)],
        worst=cube["worst_errors"],
        rule_agreement=cube["rule_agreement"],
        wcag=cube["wcag"],
        test_split=m["test_split"],
        metadata_rows=metadata_rows,
        plots={
            "bands": plots.accuracy_by_band_png(curves),
            "reliability": plots.reliability_png(curves),
            "decision_maps": plots.decision_maps_png(evaluation.table, evaluation.rule),
            "grey_ramp": plots.grey_ramp_png(curves),
        },
    )


def write_report(evaluation: Evaluation, report: Path) -> Path:
    """The HTML report and `metrics.json` beside it, each written atomically; returns the metrics path."""
    html = render_report(evaluation)
    metrics_path = report.parent / METRICS_FILE
    metrics = evaluation.metrics.model_dump(mode="json", exclude_none=False)
    if metrics["beats_original_recipe"] is None:
        del metrics["beats_original_recipe"]  # no baseline was trained: nothing to say
    # Sorted keys, as metrics.json has always been written: diffs between runs stay readable.
    text = json.dumps(metrics, indent=2, sort_keys=True) + "\n"
    write_files_atomic({report: html, metrics_path: text})
    return metrics_path


def _recipe_verdict(m: dict[str, Any]) -> str:
    cube = m["cube"]
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
    return verdict


def _metadata_rows(m: dict[str, Any]) -> list[tuple[str, Any]]:
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
    return metadata_rows
