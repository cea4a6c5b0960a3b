"""User text is printed as written: rich markup (`[bold]x[/bold]`, a stray `[/x]`) and emoji codes
(`:smile:`) in file, column, model and dataset names reach the terminal unchanged, in errors,
summaries, tables, status lines and progress descriptions, and never raise."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from typer.testing import CliRunner

from cli.app import app
from cli.console import LiteralConsole, progress_bar
from cli.tables import dataset_summary_table, retrain_summary_table, score_summary_table

runner = CliRunner()
MARKUP = "[bold]x[/bold]"


def test_a_markup_colour_column_is_named_as_written(tiny_version, tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("color\n#ffffff\n")
    for column in (MARKUP, "[/x]"):  # "[/x]" made rich raise: a traceback, not an error line
        result = runner.invoke(
            app,
            [
                "score",
                str(source),
                "--out",
                str(tmp_path / "o.csv"),
                "--model",
                str(tiny_version),
                "--color-column",
                column,
            ],
        )
        assert result.exit_code == 2, result.output
        assert f"no column '{column}'" in result.output
        assert "Traceback" not in result.output and result.exception.__class__ is SystemExit


def test_a_markup_file_name_reads_as_written_in_errors_and_summaries(tiny_version, tmp_path):
    # "[bold]x[/bold].csv": a folder "[bold]x[" holding "bold].csv".
    source = tmp_path / "[bold]x[" / "bold].csv"
    source.parent.mkdir()
    source.write_text("color\n#ffffff\n#zzz\n")
    out = tmp_path / "[red]o[" / "red]:smile:.csv"
    args = ["score", str(source), "--out", str(out), "--model", str(tiny_version)]
    failed = runner.invoke(app, args)
    assert failed.exit_code == 2
    assert f"error: {source}: row " in failed.output
    quarantined = runner.invoke(app, [*args, "--on-error", "quarantine"])
    assert quarantined.exit_code == 0, quarantined.output
    assert f" {out} " in quarantined.output  # the summary table's output row
    assert f"1 rejected rows, with reasons, in {out}.rejects.csv" in quarantined.output


def test_an_emoji_code_in_a_file_name_is_not_an_emoji(tiny_version, tmp_path):
    source = tmp_path / "a:smile:.csv"
    source.write_text("color\n#zzz\n")
    args = ["score", str(source), "--out", str(tmp_path / "o.csv"), "--model", str(tiny_version)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and f"error: {source}: row " in result.output


def test_a_markup_model_name_in_a_status_line_and_an_error(tmp_path):
    # export shows "exporting <model> ..." in a status line before the model is looked up.
    result = runner.invoke(
        app, ["export", "[/x]", "--format", "json", "--out", str(tmp_path / "m.json")]
    )
    assert result.exit_code == 2, result.output
    assert "model '[/x]' not found" in result.output


def test_a_markup_dataset_name_in_generate_and_import_labels(tmp_path):
    out = tmp_path / "[b]ds[" / "b]"
    made = runner.invoke(app, ["generate", "--rows", "1000", "--out", str(out)])
    assert made.exit_code == 0, made.output
    assert f"wrote {out} in" in made.output
    labels = tmp_path / "labels.csv"
    labels.write_text("color,text\n" + "".join(f"#{i:02x}0000,white\n" for i in range(40)))
    brand = tmp_path / "[red]brand[" / "red]"
    imported = runner.invoke(
        app, ["import-labels", str(labels), "--text-column", "text", "--out", str(brand)]
    )
    assert imported.exit_code == 0, imported.output
    assert f"{brand}: 40 colours (rule human:red])" in imported.output


def _rendered(renderable: object) -> str:
    """What a markup-enabled rich console (rich's default) prints of `renderable`."""
    buffer = io.StringIO()
    Console(file=buffer, width=200, color_system=None).print(renderable)
    return buffer.getvalue()


def test_tables_show_user_text_as_written_on_any_console():
    from types import SimpleNamespace

    from fontpipe.records import Headline
    from fontpipe.registry.promotion import RetrainOutcome, RetrainReport
    from fontpipe.scoring.job import ScoreSummary

    fields = {name: 0 for name in ScoreSummary.__dataclass_fields__}
    summary = ScoreSummary(
        **{**fields, "model_version": MARKUP, "output": "[/o].csv", "backdrop": ":smile:"}
    )
    text = _rendered(score_summary_table(summary))
    assert f"scored with model {MARKUP}" in text and "[/o].csv" in text and ":smile:" in text

    splits = {s: {"rows": 1, "files": ["p"], "black": 1} for s in ("train", "val", "test")}
    manifest = {"fingerprint": "f" * 32, "rule": f"human:{MARKUP}", "sampling": "labelled"}
    dataset = SimpleNamespace(manifest={**manifest, "seed": 0, "splits": splits})
    assert f"rule=human:{MARKUP}" in _rendered(dataset_summary_table(dataset))

    headline = Headline(
        accuracy=1.0, errors=0, boundary_accuracy=1.0, ece=0.0, aa_share=1.0, min_contrast=4.6
    )
    outcome = RetrainOutcome(
        rule=f"human:{MARKUP}",
        challenger="[/c]",
        promoted=True,
        reason="better",
        previous_champion=None,
        champion="[red]champ[/red]",
        challenger_metrics=headline,
        champion_metrics=None,
        report="r",
        dataset="d",
    )
    text = _rendered(retrain_summary_table(RetrainReport(outcomes=[outcome])))
    assert f"human:{MARKUP}" in text and "[/c] promoted" in text and "[red]champ[/red]" in text


@pytest.mark.parametrize("text", [MARKUP, "[/x]", "a:smile:"])
def test_status_lines_and_progress_descriptions_print_as_written(text):
    buffer = io.StringIO()
    console = LiteralConsole(file=buffer, width=200, force_terminal=False)
    console.print(text)
    with console.status(text) as status:
        status.update(f"still {text}")
        console.print(status.renderable)
    assert buffer.getvalue().splitlines()[:2] == [text, f"⠋ still {text}"]
    progress = progress_bar()
    progress.add_task(text, total=1)
    shown = io.StringIO()
    Console(file=shown, width=200, color_system=None).print(progress.get_renderable())
    assert shown.getvalue().startswith(text + " ")
