"""The HTML report of an evaluation: one self-contained file (figures embedded as PNG), written
atomically with `metrics.json` beside it."""

from __future__ import annotations

import contextlib
import html as markup
import itertools
import json
import re
import shlex
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from jinja2 import Environment, PackageLoader, select_autoescape

from fontpipe.atomic import staging_path, write_files_atomic
from fontpipe.color.rules import Rule, text_contrast_ratio
from fontpipe.data.datasets import open_dataset, read_split_arrays
from fontpipe.errors import FontpipeError
from fontpipe.evaluation import plots
from fontpipe.evaluation.card import (
    RULE_LIMITS,
    LabelledColours,
    labelled_colours,
    metadata_rows,
    model_card,
)
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
from fontpipe.schema import SPLITS, WCAG_AA_RATIO
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


def champion_section(
    comparison: ChampionComparison | None, family: str, written_at: str | None = None
) -> str:
    """The report's champion-against-challenger section body: a record of `written_at` (when
    the report was written), which names the command that tells every later decision."""
    return str(
        _templates()
        .get_template("champion.html")
        .render(
            comparison=comparison,
            written_at=_readable_time(written_at),
            history_command=f"fontpipe models history --rule {shlex.quote(family)}",
        )
    )


def _readable_time(iso: str | None) -> str | None:
    if not iso:
        return None
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip()


# The champion section sits between these markers, so a decision taken after the report was
# written (the retrain flow promotes after evaluating) is filled in without redrawing figures.
_CHAMPION_START, _CHAMPION_END = "<!--champion-->", "<!--/champion-->"
_WRITTEN_AT = re.compile(r'<section id="champion" data-written="([^"]*)"')


def write_comparison(report: Path, comparison: ChampionComparison) -> bool:
    """Put `comparison` into an existing report's champion section, atomically; False when the
    report has no such section (written by an older version)."""
    html = Path(report).read_text(encoding="utf-8")
    start, end = html.find(_CHAMPION_START), html.find(_CHAMPION_END)
    if start < 0 or end < start:
        return False
    # The decision follows the evaluation at once: the report's own time dates it, so writing
    # the same decision again gives the same page.
    written = _WRITTEN_AT.search(html)
    written_at = markup.unescape(written.group(1)) if written else None
    body = champion_section(comparison, comparison.rule, written_at)
    section = _CHAMPION_START + "\n" + body + "\n"
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
    recipe = evaluation.metrics.baselines.get("answer_recipe")
    scope = scope_phrases(evaluation.metrics.cube)
    return str(
        _templates()
        .get_template("report.html")
        .render(
            version=evaluation.version.name,
            rule=evaluation.rule.name,
            rule_description=evaluation.rule.description,
            colours=cube["colours"],
            **scope,
            generated=m["generated"],
            headline=_headline_rows(evaluation),
            boundary_band_label=f"|m| < {cube['boundary_band']['max_abs_margin']:g}",
            verdict=recipe_verdict(
                evaluation.metrics.cube.headline(),
                None if recipe is None else recipe.headline,
                _question_spread(m),
            ),
            bands=cube["bands"],
            recipe_bands=m["baselines"]["answer_recipe"]["bands"] if recipe else None,
            margin_unit=cube["margin_unit"],
            confusion=cube["confusion"],
            reliability=[r | {"plotted": plots.plotted_bin(r)} for r in cube["reliability"]],
            calibration_min_colours=plots.CALIBRATION_MIN_COLOURS,
            ece=cube["ece"],
            grey_flip=cube["grey_ramp"]["flip_at"],
            grey_flips=cube["grey_ramp"]["flips"],
            samples=[_with_contrasts(s.model_dump()) for s in sample_colours(evaluation.table)],
            worst=[_with_contrasts(s) for s in cube["worst_errors"]],
            rule_limits=RULE_LIMITS.get(evaluation.rule.name, ""),
            model_card=model_card(m, scope["scope_text"]),
            rule_agreement=cube["rule_agreement"],
            wcag=cube["wcag"],
            test_split=m["test_split"],
            metadata_rows=metadata_rows(m),
            champion_html=champion_section(
                comparison, m.get("family") or m["rule"], m["generated"]
            ),
            learning_curve_html=learning_curve_section(learning_curve, evaluation.rule),
            human=m.get("human"),
            labelled=_labelled(evaluation) if m.get("human") else None,
            family=m.get("family"),
            model_js=_model_javascript(evaluation.version, evaluation.model),
            plots=_plots(evaluation, curves),
            questions=rule_questions(),
        )
    )


def _headline_rows(evaluation: Evaluation) -> list[dict[str, Any]]:
    """The model and its baselines, against the rule over the cube (for a human-label model,
    its prior rule; its held-out accuracy has its own section)."""
    names = {
        "rule": f"the {evaluation.rule.name} rule itself",
        "answer_recipe": RECIPE_TITLES["answer"],
        "question_recipe": RECIPE_TITLES["question"],
    }
    rows = [
        {
            "name": f"model {evaluation.version.name}",
            **evaluation.metrics.cube.headline().model_dump(mode="json"),
        }
    ]
    return rows + [
        {"name": names.get(name, name), **baseline.headline.model_dump(mode="json")}
        for name, baseline in evaluation.metrics.baselines.items()
    ]


def _plots(evaluation: Evaluation, curves: dict[str, dict[str, Any]]) -> dict[str, str | None]:
    return {
        "bands": plots.accuracy_by_band_png(curves),
        "reliability": plots.reliability_png(curves),
        "decision_maps": plots.decision_maps_png(evaluation.table, evaluation.rule),
        "grey_ramp": plots.grey_ramp_png(curves),
        "training": plots.training_curves_png(read_history(evaluation.version)),
        "questions": plots.question_maps_png(disagreement_planes((0, 85, 170, 255))),
    }


@dataclass(frozen=True)
class LabelledSection:
    """A human-label model's labelled colours for its page, or why they could not be read."""

    dataset: str
    colours: LabelledColours | None
    problem: str | None = None


def _labelled(evaluation: Evaluation) -> LabelledSection:
    """The colours of the dataset the model's held-out labels came from, every split, each
    with the model's answer. A dataset that is gone or damaged is said on the page."""
    human = evaluation.metrics.human
    assert human is not None
    try:
        dataset = open_dataset(human.dataset)
        splits = {str(split): read_split_arrays(dataset, split) for split in SPLITS}
    except (FontpipeError, OSError) as exc:
        return LabelledSection(human.dataset, None, str(exc))
    return LabelledSection(human.dataset, labelled_colours(splits, evaluation.table))


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


@dataclass(frozen=True)
class RecipeVerdict:
    """The model against the answer's recipe: its words, and the colour of its box."""

    tone: Literal["good", "note", "bad"]
    text: str


def policy_text(policy: PromotionPolicy) -> str:
    """What the promotion policy counts as better, in one sentence, from its own settings."""
    never = ["more errors far from the boundary"]
    if policy.never_drop_accuracy:
        never.append("a lower accuracy")
    if policy.never_drop_readability:
        never.append("a lower WCAG AA share or minimum contrast")
    fewer = (
        "fewer errors"
        if policy.min_error_improvement == 1
        else f"at least {policy.min_error_improvement:,} fewer errors"
    )
    tie = {
        "boundary_accuracy": "; equal errors go to the higher boundary-band accuracy",
        "ece": "; equal errors go to the lower ECE",
        "none": "",
    }[policy.tie_breaker]
    listed = ", ".join(never[:-1]) + (" or " if len(never) > 1 else "") + never[-1]
    return f"Promotion never counts a model with {listed} as better; otherwise {fewer} win{tie}."


def recipe_verdict(
    model: Headline,
    recipe: Headline | None,
    question_spread: str = "",
    policy: PromotionPolicy | None = None,
) -> RecipeVerdict:
    """The model against the answer's recipe, decided by promotion's own rule (the one
    definition of better) and told with its reason. Red only when the model also makes no
    fewer errors: fewer errors held back by a guard is a note, not a failure."""
    if recipe is None:
        return RecipeVerdict(
            "note", "No recipe baseline was trained for this report (it is optional)."
        )
    policy = policy or PromotionPolicy()
    decision = decide_promotion(model, recipe, policy)
    rule = policy_text(policy)
    if decision.promote:
        tone: Literal["good", "note", "bad"] = "good"
        text = f"This model beats the answer's recipe: {decision.reason}."
    elif model.errors < recipe.errors:
        tone = "note"
        text = (
            f"This model makes fewer errors than the answer's recipe ({model.errors:,} against "
            f"{recipe.errors:,}), yet by the promotion policy it does not beat it: "
            f"{decision.reason}."
        )
    else:
        tone = "bad"
        text = f"This model does not beat the answer's recipe: {decision.reason}."
    return RecipeVerdict(tone, " ".join(part for part in (text, rule, question_spread) if part))


def _question_spread(m: dict[str, Any]) -> str:
    """What the question's recipe did: the near-constant output the question asked about."""
    question = m["baselines"].get("question_recipe")
    if question is None or not question.get("p_black_spread"):
        return ""
    spread = question["p_black_spread"]
    return (
        f"The question's recipe, as written, answers P(black) between {spread['min']:.3f} "
        f"and {spread['max']:.3f} for every colour (standard deviation {spread['std']:.3f}): "
        "the constant output the question asked about."
    )
