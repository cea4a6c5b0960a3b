"""Conventions people type without thinking: --version, --json (checked against the schemas kept
in schemas/), untruncated output through a pipe, choices and defaults in --help, completion,
--max-reject-rate."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pyarrow.csv as pacsv
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
FONTPIPE = str(Path(sys.executable).with_name("fontpipe"))


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real command, its stdout a pipe (not a terminal), as a script or another program
    would run it."""
    return subprocess.run(
        [FONTPIPE, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "80", **(env or {})},
    )


def check_json(output: str, schema: str) -> dict:
    document = json.loads(output)
    jsonschema.validate(document, json.loads((SCHEMAS / schema).read_text()))
    return document


@pytest.fixture(scope="module")
def registry(tiny_version, tmp_path_factory):
    """A registry with two versions, the newer one its rule's champion."""
    from fontpipe.registry.champions import promote

    models = tmp_path_factory.mktemp("registry") / "models"
    models.mkdir()
    names = []
    for suffix in ("a", "b"):
        name = f"20991231-235959-{suffix * 6}"
        shutil.copytree(tiny_version, models / name)
        metadata = json.loads((models / name / "metadata.json").read_text())
        metadata["version"] = name
        (models / name / "metadata.json").write_text(json.dumps(metadata))
        names.append(name)
    promote(models, names[1], "for the test")
    return models, names


def test_version_flag_and_command():
    from fontpipe import __version__

    flag = run("--version")
    assert flag.returncode == 0 and flag.stdout.strip() == f"fontpipe {__version__}"
    listed = run("version", "--json")
    document = check_json(listed.stdout, "version.json")
    assert document["fontpipe"] == __version__ and document["tensorflow"]
    assert "tensorflow" in run("version").stdout


def test_listings_through_a_pipe_are_never_cut(registry):
    models, names = registry
    listed = run("models", "list", "--models-dir", str(models))
    assert listed.returncode == 0, listed.stderr
    assert "…" not in listed.stdout
    for name in names:
        assert name in listed.stdout  # whole, as `promote` needs it
    shown = run("models", "show", names[0], "--models-dir", str(models))
    assert "…" not in shown.stdout and names[0] in shown.stdout
    predicted = run(
        "predict", "#00ff7e", "oklch(63.7% 0.237 25.331)", "--model", str(models / names[0])
    )
    assert "…" not in predicted.stdout and "oklch(63.7% 0.237 25.331)" in predicted.stdout
    versions = run("version")
    assert "…" not in versions.stdout
    pruned = run("models", "prune", "--keep", "0", "--dry-run", "--models-dir", str(models))
    assert pruned.returncode == 0 and "…" not in pruned.stdout and names[0] in pruned.stdout


def test_json_outputs_match_their_schemas(registry, tmp_path):
    models, names = registry
    listed = check_json(
        run("models", "list", "--json", "--models-dir", str(models)).stdout, "models-list.json"
    )
    assert [v["version"] for v in listed["versions"]] == sorted(names, reverse=True)
    assert [v["champion"] for v in listed["versions"]] == [True, False]
    shown = check_json(
        run(
            "models", "show", "champion", "--rule", "mean", "--json", "--models-dir", str(models)
        ).stdout,
        "models-show.json",
    )
    assert shown["version"] == names[1] and shown["is_champion"]
    decided = check_json(
        run("models", "history", "--json", "--models-dir", str(models)).stdout,
        "models-history.json",
    )
    assert [(d["kind"], d["version"]) for d in decided["decisions"]] == [("promotion", names[1])]
    predicted = check_json(
        run("predict", "#00ff7e", "#000", "--json", "--model", str(models / names[0])).stdout,
        "predict.json",
    )
    assert [p["srgb_hex"] for p in predicted["predictions"]] == ["#00ff7e", "#000000"]
    palette = tmp_path / "palette.csv"
    palette.write_text("color\n#ffffff\n#000000\nnot a colour\n")
    scored = run(
        "score",
        str(palette),
        "--out",
        str(tmp_path / "out.csv"),
        "--model",
        str(models / names[0]),
        "--on-error",
        "quarantine",
        "--json",
    )
    summary = check_json(scored.stdout, "score.json")
    assert summary["read"] == 3 and summary["scored"] == 2 and summary["rejected"] == 1
    evaluated = run(
        "evaluate",
        "--model",
        names[0],
        "--models-dir",
        str(models),
        "--no-baseline",
        "--report",
        str(tmp_path / "report" / "report.html"),
        "--json",
    )
    assert evaluated.returncode == 0, evaluated.stderr
    document = check_json(evaluated.stdout, "evaluate.json")
    assert document["version"] == names[0] and document["champion"]["champion"] == names[1]
    assert document["champion"]["acted"] is False


def test_retrain_json_schema_holds_for_a_real_report():
    from fontpipe.records import Headline
    from fontpipe.registry.promotion import RetrainOutcome, RetrainReport

    headline = Headline(
        accuracy=1, errors=0, boundary_accuracy=1, ece=0, aa_share=1, min_contrast=4.58
    )
    report = RetrainReport(
        outcomes=[
            RetrainOutcome(
                rule="wcag",
                challenger="v2",
                promoted=True,
                reason="no champion yet",
                previous_champion=None,
                champion="v2",
                challenger_metrics=headline,
                champion_metrics=None,
                report="r.html",
                dataset="d",
            )
        ]
    )
    jsonschema.validate(
        json.loads(report.model_dump_json()), json.loads((SCHEMAS / "retrain.json").read_text())
    )


def test_max_reject_rate_exits_3_with_everything_written(registry, tmp_path):
    models, names = registry
    palette = tmp_path / "palette.csv"
    palette.write_text("color\n#ffffff\nnope\n#000000\nnope either\n")
    out = tmp_path / "out.csv"
    over = run(
        "score",
        str(palette),
        "--out",
        str(out),
        "--model",
        str(models / names[0]),
        "--max-reject-rate",
        "0.25",
    )
    assert over.returncode == 3, over.stderr
    assert "above --max-reject-rate" in over.stderr
    assert len(pacsv.read_csv(out)) == 2
    rejects = pacsv.read_csv(tmp_path / "out.csv.rejects.csv")
    assert rejects.column("value").to_pylist() == ["nope", "nope either"]
    under = run(
        "score",
        str(palette),
        "--out",
        str(out),
        "--model",
        str(models / names[0]),
        "--max-reject-rate",
        "0.5",
    )
    assert under.returncode == 0, under.stderr


def test_help_lists_choices_keeps_defaults_and_shows_flags_as_flags():
    generate = " ".join(run("generate", "--help").stdout.split())  # unwrapped
    assert (
        "[default: $FONTPIPE_DATA/datasets/<name>, or data/datasets/<name> when FONTPIPE_DATA "
        "is unset]" in generate
    )
    assert "<mean|wcag|yiq|apca|readable>" in generate
    assert "uniform-int|uniform-float|boundary|cube" in generate
    assert "--force " in generate and "<bool>" not in generate
    score = " ".join(run("score", "--help").stdout.split())
    assert "<fail|quarantine>" in score and "--max-reject-rate" in score
    assert "--install-completion" in run("--help").stdout
    wrong = run("predict", "#fff", "--rule", "wcga")
    assert wrong.returncode == 2 and "wcga" in wrong.stderr and "wcag" in wrong.stderr


# `score` and `predict` (cli/scoring.py) are to follow: their `--models-dir` becomes
# `cli.base.models_dir_option()` and `--delimiter` writes its default with `with_default`.
COMMANDS = [
    ["score"],
    ["predict"],
    ["generate"],
    ["train"],
    ["import-labels"],
    ["evaluate"],
    ["retrain"],
    ["export"],
    ["models", "list"],
    ["models", "show"],
    ["models", "history"],
    ["models", "promote"],
    ["models", "rollback"],
    ["models", "prune"],
]


def test_every_help_lists_choices_and_defaults_one_way():
    """Choices as `<a|b|c>` (an Enum's, and the rule families' too), every default in typer's
    own `  [default: ...]` after its sentence, and a default under the data root names
    FONTPIPE_DATA."""
    from typer.main import get_command

    from cli.app import app

    group = get_command(app)
    for path in COMMANDS:
        command = group
        for name in path:
            command = command.commands[name]  # type: ignore[attr-defined]
        for param in command.params:
            text = param.help or ""
            assert param.metavar != "RULE", (path, param.name)
            # A default written by hand reads as typer's: two spaces, then the brackets.
            if "[default:" in text:
                assert "  [default: " in text and text.endswith("]"), (path, param.name, text)
            if param.name == "models_dir":
                assert "$FONTPIPE_DATA/models" in text and "data/models" in text, path
            if param.name == "rule" and path[0] not in ("generate", "train", "evaluate"):
                assert param.metavar.startswith("<mean|wcag|yiq|apca|readable"), path
    rollback = " ".join(run("models", "rollback", "--help").stdout.split())
    assert "--rule <mean|wcag|yiq|apca|readable|human:<name>>" in rollback
    retrain = " ".join(run("retrain", "--help").stdout.split())
    assert "--rule <mean|wcag|yiq|apca|readable>" in retrain and "list[" not in retrain


def test_a_bare_command_prints_its_help_and_exits_0():
    bare = run()
    assert bare.returncode == 0, bare.stderr
    assert bare.stdout.startswith("Usage: fontpipe") and "Commands:" in bare.stdout
    assert "generate" in bare.stdout and bare.stderr == ""
    models = run("models")
    assert models.returncode == 0 and "rollback" in models.stdout


def test_tour_uses_the_installed_command_and_files_that_exist():
    readme = (ROOT / "README.md").read_text()
    tour = readme.split("## A short tour", 1)[1].split("\n## ", 1)[0]
    assert "source .venv/bin/activate" not in tour
    for token in tour.split():
        if token.startswith(("data/samples/", "palettes/")):
            assert (ROOT / token.strip("`\"'")).exists() or "*" in token, token


def test_the_choices_the_command_line_lists_are_the_librarys():
    """The Enums `--help` lists are the values the library accepts, so the two cannot drift."""
    from typing import get_args

    from cli import choices
    from fontpipe.export import EXPORT_FORMATS
    from fontpipe.model import ARCHITECTURES
    from fontpipe.palettes.parse import Scale
    from fontpipe.schema import RULE_NAMES, SAMPLINGS
    from fontpipe.scoring.plan import ScoreConfig
    from fontpipe.training.config import TrainConfig

    def values(enum):
        return [member.value for member in enum]

    assert values(choices.Rule) == list(RULE_NAMES)
    assert values(choices.Sampling) == list(SAMPLINGS)
    assert values(choices.Architecture) == list(ARCHITECTURES)
    assert values(choices.ExportFormat) == list(EXPORT_FORMATS)
    assert values(choices.Scale) == list(get_args(Scale))
    assert values(choices.OnError) == list(
        get_args(ScoreConfig.model_fields["on_error"].annotation)
    )
    assert values(choices.Schedule) == list(
        get_args(TrainConfig.model_fields["schedule"].annotation)
    )


def test_rule_names_a_labelling_rule_or_a_human_family(tmp_path):
    """`--rule` takes the three rules and `human:<name>` families of imported labels; anything
    else is a usage error listing them, and a family without a champion says how to make one."""
    bogus = run("predict", "#336699", "--rule", "bogus", "--models-dir", str(tmp_path))
    assert bogus.returncode == 2
    assert "expected one of mean, wcag, yiq, apca, readable or human:<name>" in bogus.stderr
    empty = run("score", "x.csv", "--out", "y.csv", "--rule", "human:")
    assert empty.returncode == 2 and "human:<name>" in empty.stderr
    missing = run("predict", "#336699", "--rule", "human:brand", "--models-dir", str(tmp_path))
    assert missing.returncode == 2
    assert "no human:brand champion" in missing.stderr
    assert "fontpipe models promote" in missing.stderr and "retrain" not in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
