"""The HTML report of an evaluation: one self-contained file (figures embedded as PNG), written
atomically with `metrics.json` beside it."""

from __future__ import annotations

import contextlib
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment, PackageLoader, select_autoescape

from fontpipe.atomic import staging_path, write_files_atomic
from fontpipe.color.rules import Rule, text_contrast_ratio
from fontpipe.errors import FontpipeError
from fontpipe.evaluation import plots
from fontpipe.evaluation.evaluate_version import Evaluation
from fontpipe.evaluation.learning_curve import (
    LEARNING_CURVE_FILE,
    data_needed,
    read_learning_curve,
)
from fontpipe.evaluation.metrics import sample_colours
from fontpipe.evaluation.questions import disagreement_planes, rule_questions
from fontpipe.evaluation.scope import scope_phrases
from fontpipe.export import DECIDE_JS, model_weights, provenance
from fontpipe.records import Headline
from fontpipe.registry.promotion import ChampionComparison, PromotionPolicy, decide_promotion
from fontpipe.registry.versions import ModelVersion, read_history
from fontpipe.schema import CUBE_SIZE, WCAG_AA_RATIO
from fontpipe.training.recipes import RECIPE_TITLES

METRICS_FILE = "metrics.json"
REPORT_FILE = "report.html"


def default_report_path(reports_dir: Path, version: str) -> Path:
    """Where a version's report goes unless the user names a file: reports/<version>/report.html."""
    return reports_dir / version / REPORT_FILE


def check_report_target(report: Path) -> Path:
    """Refuse a report path we cannot write, before any work. The folders made to find out are
    removed again: an evaluation that fails later leaves nothing behind (the report's own write
    makes them)."""
    report = Path(report)
    if report.exists() and report.is_dir():
        raise FontpipeError(f"{report}: is a directory; give a file name such as report.html")
    made = list(itertools.takewhile(lambda p: not p.exists(), report.parents))
    try:
        report.parent.mkdir(parents=True, exist_ok=True)
        probe = staging_path(report)
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise FontpipeError(
            f"{report}: cannot write the report there ({exc.strerror or exc})"
        ) from None
    finally:
        for folder in made:  # deepest first
            with contextlib.suppress(OSError):
                folder.rmdir()
    return report


def _templates() -> Any:

    return Environment(
        loader=PackageLoader("fontpipe", "templates"), autoescape=select_autoescape(["html"])
    )


def champion_section(comparison: ChampionComparison | None) -> str:
    """The report's champion-against-challenger section body."""
    return str(_templates().get_template("champion.html").render(comparison=comparison))


# The champion section sits between these markers, so a decision taken after the report was
# written (the retrain flow promotes after evaluating) is filled in without redrawing figures.
_CHAMPION_START, _CHAMPION_END = "<!--champion-->", "<!--/champion-->"


def write_comparison(report: Path, comparison: ChampionComparison) -> bool:
    """Put `comparison` into an existing report's champion section, atomically; False when the
    report has no such section (written by an older version)."""
    html = Path(report).read_text(encoding="utf-8")
    start, end = html.find(_CHAMPION_START), html.find(_CHAMPION_END)
    if start < 0 or end < start:
        return False
    section = _CHAMPION_START + "\n" + champion_section(comparison) + "\n"
    write_files_atomic({Path(report): html[:start] + section + html[end:]})
    return True


def learning_curve_section(path: Path | None, rule: Rule) -> str:
    """The report's learning-curve section body: `rule`'s points from the file that
    `bench/learning_curve.py` writes, or how to make one. A missing or broken file is said in
    the section; the report is written all the same."""
    curve: dict[str, Any] = {
        "state": "absent",
        "path": str(path) if path is not None else None,
        "far_label": f"{rule.far_margin:g} {rule.margin_unit}",
    }
    if path is not None and Path(path).is_file():
        try:
            measured = read_learning_curve(Path(path))
        except FontpipeError as exc:
            curve |= {"state": "broken", "problem": str(exc)}
        else:
            points = measured.for_rule(rule.name)
            curve |= {
                "state": "ok" if points else "no rule",
                "points": points,
                "needed": data_needed(points),
                "generated": measured.generated,
                "machine": measured.machine,
                "runs": measured.runs,
            }
    template = _templates().get_template("learning_curve.html")
    return str(template.render(curve=curve, rule=rule.name))


def render_report(
    evaluation: Evaluation,
    comparison: ChampionComparison | None = None,
    learning_curve: Path | None = None,
) -> str:

    # The template reads plain JSON values, the same ones metrics.json holds.
    m: dict[str, Any] = evaluation.metrics.model_dump(mode="json")
    cube = m["cube"]
    curves = {"model": cube} | {
        name.replace("_", " "): b for name, b in m["baselines"].items() if name != "rule"
    }
    # Against the rule over the cube (for a human-label model, its prior rule; its held-out
    # accuracy has its own section).
    cube_headline = evaluation.metrics.cube.headline().model_dump(mode="json")
    headline_rows = [{"name": f"model {evaluation.version.name}", **cube_headline}]
    names = {
        "rule": f"the {evaluation.rule.name} rule itself",
        "answer_recipe": RECIPE_TITLES["answer"],
        "question_recipe": RECIPE_TITLES["question"],
    }
    headline_rows += [
        {"name": names.get(name, name), **b["headline"]} for name, b in m["baselines"].items()
    ]
    recipe = m["baselines"].get("answer_recipe")
    verdict = _recipe_verdict({**m, "cube_headline": cube_headline})
    metadata_rows = _metadata_rows(m)
    return str(
        _templates()
        .get_template("report.html")
        .render(
            version=evaluation.version.name,
            rule=evaluation.rule.name,
            rule_description=evaluation.rule.description,
            colours=cube["colours"],
            **scope_phrases(evaluation.metrics.cube),
            generated=m["generated"],
            headline=headline_rows,
            boundary_band_label=f"|m| < {cube['boundary_band']['max_abs_margin']:g}",
            beats_recipe=m.get("beats_answer_recipe"),
            verdict=verdict,
            bands=cube["bands"],
            recipe_bands=recipe["bands"] if recipe else None,
            margin_unit=cube["margin_unit"],
            confusion=cube["confusion"],
            reliability=cube["reliability"],
            ece=cube["ece"],
            grey_flip=cube["grey_ramp"]["flip_at"],
            grey_flips=cube["grey_ramp"]["flips"],
            samples=[_with_contrasts(s.model_dump()) for s in sample_colours(evaluation.table)],
            worst=[_with_contrasts(s) for s in cube["worst_errors"]],
            rule_limits=RULE_LIMITS.get(evaluation.rule.name, ""),
            model_card=_model_card(m, scope_phrases(evaluation.metrics.cube)["scope_text"]),
            rule_agreement=cube["rule_agreement"],
            wcag=cube["wcag"],
            test_split=m["test_split"],
            metadata_rows=metadata_rows,
            champion_html=champion_section(comparison),
            learning_curve_html=learning_curve_section(learning_curve, evaluation.rule),
            human=m.get("human"),
            family=m.get("family"),
            model_js=_model_javascript(evaluation.version, evaluation.model),
            plots={
                "bands": plots.accuracy_by_band_png(curves),
                "reliability": plots.reliability_png(curves),
                "decision_maps": plots.decision_maps_png(evaluation.table, evaluation.rule),
                "grey_ramp": plots.grey_ramp_png(curves),
                "training": plots.training_curves_png(read_history(evaluation.version)),
                "questions": plots.question_maps_png(disagreement_planes((0, 85, 170, 255))),
            },
            questions=rule_questions(),
        )
    )


def script_json(value: Any) -> str:
    """`value` as JSON that an inline <script> holds as it is: `<`, `>` and `&` are written as
    \\u escapes (so no `</script>` or `<!--` in a name can close or hide the element), and so are
    U+2028 and U+2029 (line ends to older JavaScript). JSON keeps its meaning: those characters
    only occur inside strings."""
    text = json.dumps(value, ensure_ascii=True)
    for char in "<>&\u2028\u2029":
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def _model_javascript(version: ModelVersion, model: Any) -> str:
    """The model and `textColor` as the JSON export's JavaScript defines them, for the report's
    colour picker. The export's header comment is left out: it holds the version and rule names
    raw, and a line end or `<!--` in one would break out of it."""

    document = {**provenance(version), **model_weights(model)}
    return (
        f"var FONTPIPE_MODEL = {script_json(document)};\n{DECIDE_JS}\n"
        "function textColor(r, g, b) { return fontpipeDecide(FONTPIPE_MODEL, r, g, b); }\n"
    )


def write_report(
    evaluation: Evaluation,
    report: Path,
    comparison: ChampionComparison | None = None,
    learning_curve: Path | None = None,
) -> Path:
    """The HTML report and `metrics.json` beside it, each written atomically; returns the metrics
    path. `learning_curve` is the bench's learning-curve file; by default, the one in the
    reports directory of a report at its usual place, reports/<version>/report.html."""
    if learning_curve is None:
        learning_curve = Path(report).parent.parent / LEARNING_CURVE_FILE
    html = render_report(evaluation, comparison, learning_curve)
    metrics_path = report.parent / METRICS_FILE
    metrics = evaluation.metrics.model_dump(mode="json", exclude_none=False)
    if metrics["beats_answer_recipe"] is None:
        del metrics["beats_answer_recipe"]  # no baseline was trained: nothing to say
    # Sorted keys, as metrics.json has always been written: diffs between runs stay readable.
    text = json.dumps(metrics, indent=2, sort_keys=True) + "\n"
    write_files_atomic({report: html, metrics_path: text})
    return metrics_path


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


def _with_contrasts(entry: dict[str, Any]) -> dict[str, Any]:
    """A swatch entry with both text colours' contrast and AA verdicts, for the badges."""

    rgb = np.asarray([entry["rgb"]], dtype=np.uint8)
    on_black = float(text_contrast_ratio(rgb, [True])[0])
    on_white = float(text_contrast_ratio(rgb, [False])[0])
    return {
        **entry,
        "on_black": on_black,
        "on_white": on_white,
        "black_aa": on_black >= WCAG_AA_RATIO,
        "white_aa": on_white >= WCAG_AA_RATIO,
    }


def _model_card(m: dict[str, Any], measured_on: str) -> list[tuple[str, str]]:
    meta, h = m["model_metadata"], m["headline"]
    rows = meta["dataset"]["rows"]
    human = m.get("human")
    model_config = meta["config"]["model"]
    if model_config.get("architecture") == "channel-tables":
        model = (
            "a learned 256-knot table per channel, summed with a bias (float64), fitted by "
            "Newton's method"
        )
    else:
        model = f"a {'-'.join(str(w) for w in model_config['hidden'])} ReLU network (Adam)"
    source = "human-labelled" if human else "generated"
    card = [
        ("intended use", "Choosing black or white text for a background colour (8-bit sRGB)."),
        ("rule learned", f"{meta['rule']}: {RULE_LIMITS.get(meta['rule'], '')}"),
        (
            "data",
            f"{sum(rows.values()):,} {source} colours ({meta['dataset']['sampling']} sampling), "
            f"labelled by {meta['dataset']['rule']}; train/val/test "
            f"{rows.get('train', 0):,} / {rows.get('val', 0):,} / {rows.get('test', 0):,}.",
        ),
        (
            "metrics",
            f"{m['cube']['errors']:,} disagreements with the {m['rule']} rule "
            f"({m['cube']['far_errors']:,} far from the boundary) on "
            + measured_on
            + f"; {100 * h['aa_share']:.2f}% of answers reach WCAG "
            f"AA; minimum contrast {h['min_contrast']:.2f}:1."
            + (
                f" Held-out human labels: {100 * human['test_accuracy']:.2f}% right."
                if human
                else ""
            ),
        ),
        ("model", f"{model}; {meta.get('device')}."),
    ]
    fit = meta.get("fit") or {}
    if fit:
        card.append(
            (
                "how it was fitted",
                f"{fit['chosen']}; it learned from {fit['train_colours']:,} distinct colours "
                f"({100 * fit['train_colours'] / CUBE_SIZE:.2f}% of the cube). Why this family: "
                f"{fit['why']}.",
            )
        )
    return card


def _recipe_verdict(m: dict[str, Any]) -> str:
    """The model against the answer's recipe, decided and worded as promotion decides (the
    one definition of better), and what the question's recipe did."""
    recipe = m["baselines"].get("answer_recipe")
    if recipe is None:
        return "No recipe baseline was trained for this report (it is optional)."
    decision = decide_promotion(
        Headline(**m["cube_headline"]), Headline(**recipe["headline"]), PromotionPolicy()
    )
    verdict = (
        f"This model {'beats' if decision.promote else 'does NOT beat'} the answer's recipe: "
        f"{decision.reason}."
    )
    question = m["baselines"].get("question_recipe")
    if question is not None and question.get("p_black_spread"):
        spread = question["p_black_spread"]
        verdict += (
            f" The question's recipe, as written, answers P(black) between {spread['min']:.3f} "
            f"and {spread['max']:.3f} for every colour (standard deviation {spread['std']:.3f}): "
            "the constant output the question asked about."
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
