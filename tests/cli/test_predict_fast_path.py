"""`fontpipe predict` has two parsers: the quick start in `cli.app` for its plain forms, and typer
for everything. Whichever parses a command line, the output, the errors and the exit code are
the same bytes, for answers, bad colours, a missing champion and a damaged version alike."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from cli.app import quick_predict_options

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "predict.json").read_text())
# Both routes run `cli.app.main` as the installed command does; the typer route with the quick
# parser switched off. On exit the quick route also says which frameworks it imported.
QUICK = (
    "import atexit, sys, cli.app as app; sys.argv[0] = 'fontpipe'; "
    "atexit.register(lambda: sys.__stderr__.write('\\nloaded: %s' % sorted("
    "m for m in ('typer', 'pydantic', 'rich') if m in sys.modules))); app.main()"
)
TYPER = (
    "import sys, cli.app as app; sys.argv[0] = 'fontpipe'; "
    "app.quick_predict_options = lambda args: None; app.main()"
)


def run(route: str, args: list[str], models: Path, stdin: str = "") -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-c", route, "predict", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "FONTPIPE_DATA": str(models.parent), "COLUMNS": "80"},
    )
    return done.returncode, done.stdout, done.stderr


def both_routes(args: list[str], models: Path, stdin: str = "") -> tuple[int, str, str, str]:
    """The typer route's (exit code, stdout, stderr) after checking the quick route's are the
    same; and which frameworks the quick route loaded."""
    code, out, err = run(QUICK, args, models, stdin)
    err, _, loaded = err.rpartition("\nloaded: ")
    assert (code, out, err) == run(TYPER, args, models, stdin)
    return code, out, err, loaded


CHAMPION = "20991231-235959-aaaaaa"
OTHER = "20991231-235959-bbbbbb"


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A registry of two versions of one untrained model (a look-up never trains), the first
    its readable rule's champion, each with its cube table."""
    from fontpipe.model import ModelConfig, build_model
    from fontpipe.records import sha256_file
    from fontpipe.registry.champions import promote
    from fontpipe.registry.versions import ensure_cube_table, open_version

    models = tmp_path_factory.mktemp("quick") / "models"
    first = models / CHAMPION
    first.mkdir(parents=True)
    build_model(ModelConfig(hidden=(4,)), seed=0).save(first / "model.keras")
    dataset = {"path": "-", "fingerprint": "-", "rule": "readable", "sampling": "cube", "rows": {}}
    metadata = {
        "version": CHAMPION,
        "created": "2099-12-31T23:59:59+00:00",
        "config": {},
        "dataset": dataset,
        "rule": "readable",
        "device": "cpu",
        "replicas": 1,
        "epochs_run": 0,
        "train_seconds": 0.0,
        "metrics": {"train": {"loss": 0.7, "accuracy": 0.5}},
        "versions": {},
        "model_sha256": sha256_file(first / "model.keras"),
    }
    (first / "metadata.json").write_text(json.dumps(metadata))
    ensure_cube_table(open_version(first))
    shutil.copytree(first, models / OTHER)
    (models / OTHER / "metadata.json").write_text(json.dumps({**metadata, "version": OTHER}))
    promote(models, CHAMPION, "for the test")
    return models


@pytest.mark.parametrize(
    "args",
    [
        ["#336699"],
        ["#336699", "--json"],
        ["--json", "#fff", "rgb(0 0 0)", "navy", "12,200,7", "oklch(63.7% 0.237 25.331)"],
        ["#33669980", "--backdrop", "black"],
        ["--backdrop=#000", "#33669980", "--json"],
        ["--model", "champion", "--rule", "readable", "#abc"],
        ["--model=" + OTHER, "#abc", "--json"],
        ["--model", "nosuch", "--model", OTHER, "#abc"],  # the last one counts
        ["[bold]x[/bold]"],  # a bad colour, printed as written
        ["#fff", "#12"],
        ["", "#fff"],
        ["--backdrop", "nope", "#fff"],
        ["--backdrop", "#fff8", "#fff"],
        ["--rule", "wcag", "#fff"],  # no champion of that rule
        ["--rule", "human:brand", "#fff"],
        ["--model", "nosuch", "#fff"],
        ["--model", "20991231-235959-aaaaaa/..", "#fff"],
    ],
    ids=repr,
)
def test_quick_and_typer_routes_print_the_same(models, args):
    code, out, err, loaded = both_routes(args, models)
    assert ("typer" not in loaded and "pydantic" not in loaded) or code != 0
    if code == 0 and "--json" in " ".join(args):
        jsonschema.validate(json.loads(out), SCHEMA)
        assert "rich" not in loaded
    if code == 0:
        assert err == ""
    else:
        assert code == 2 and out == "" and err.startswith("error: ") and err.count("\n") == 1


def test_an_answer_is_the_champions_and_its_table_the_same(models):
    code, out, _err, loaded = both_routes(["#336699", "--models-dir", str(models)], models)
    assert code == 0 and f"answered by {CHAMPION}" in out and loaded == "['rich']"


@pytest.mark.parametrize("stdin", ["#fff\n\n  #000  \n", "", "nope\n"], ids=repr)
def test_colours_on_stdin_are_read_alike(models, stdin):
    code, out, _err, _ = both_routes(["--json"], models, stdin)
    if stdin.strip() == "#fff\n\n  #000":
        assert [p["srgb_hex"] for p in json.loads(out)["predictions"]] == ["#ffffff", "#000000"]
    assert code == (0 if "#" in stdin else 2)


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["#fff", "--nope"],
        ["#fff", "--model"],
        ["#fff", "--json=yes"],
        ["--rule", "bogus", "#fff"],
        ["--rule", "human: ", "#fff"],
        ["--", "-1,2,3"],
    ],
    ids=repr,
)
def test_what_the_quick_parser_does_not_take_typer_answers(models, args):
    assert quick_predict_options(["predict", *args]) is None
    code, _out, _err, loaded = both_routes(args, models)
    assert "typer" in loaded
    assert code == (0 if args == ["--help"] else 2)


def test_the_quick_parser_reads_options_as_typer_does(tmp_path):
    options = quick_predict_options(
        ["predict", "#fff", "--model=x", "--json", "navy", "--rule", "wcag", "--models-dir", "m"]
    )
    assert options == {
        "colors": ["#fff", "navy"],
        "model": "x",
        "rule": "wcag",
        "models_dir": Path("m"),
        "backdrop": "white",
        "as_json": True,
    }
    assert quick_predict_options(["predict"])["colors"] is None  # stdin
    assert quick_predict_options(["score", "#fff"]) is None
    assert quick_predict_options(["--version"]) is None


@pytest.fixture
def damaged(models):
    """A copy of the registry to damage."""
    copy = models.parent.parent / f"damaged-{os.urandom(4).hex()}" / "models"
    shutil.copytree(models, copy)
    yield copy
    shutil.rmtree(copy.parent)


def test_a_tampered_model_is_refused_alike(damaged):
    with (damaged / CHAMPION / "model.keras").open("ab") as handle:
        handle.write(b"tampered")
    code, out, err, _ = both_routes(["#336699"], damaged)
    assert code == 2 and out == ""
    assert "checksum mismatch" in err and "refusing to load it" in err


def test_corrupt_metadata_is_refused_alike(damaged):
    (damaged / CHAMPION / "metadata.json").write_text('{"rule": "readable"}')
    code, _out, err, _ = both_routes(["--model", CHAMPION, "#336699"], damaged)
    assert code == 2 and "corrupt metadata" in err


def test_a_damaged_promotion_log_still_answers_with_one_warning(damaged):
    log = damaged / "promotions.jsonl"
    log.write_text("not json\n" + log.read_text())
    code, out, err, _ = both_routes(["#336699"], damaged)
    assert code == 0 and CHAMPION in out and err.count("line 1 is not JSON") == 1


def test_a_tampered_cube_table_is_rebuilt_alike(damaged):
    """The full path rebuilds a table that fails verification; each route gets its own copy."""
    other = damaged.parent / "other" / "models"  # a data root of its own
    shutil.copytree(damaged, other)
    pristine = json.loads(run(QUICK, ["#ffffff", "--json"], damaged)[1])["predictions"][0]
    results = []
    for route, registry in ((QUICK, damaged), (TYPER, other)):
        cube = registry / CHAMPION / "cube.npy"
        data = bytearray(cube.read_bytes())
        # The last colour (white) now answers the other way: P(black) 0 or 1 as float16.
        data[-2:] = b"\x00\x3c" if pristine["p_black"] < 0.5 else b"\x00\x00"
        cube.write_bytes(bytes(data))
        code, out, err = run(route, ["#ffffff", "--json"], registry)
        results.append((code, out, err.partition("\nloaded: ")[0].replace(str(registry), "~")))
    assert results[0] == results[1]
    code, out, err = results[0]
    assert code == 0 and json.loads(out)["predictions"][0] == pristine
    assert "checksum mismatch; the table was modified or truncated; rebuilding it" in err
