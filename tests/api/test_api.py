"""The Python API (`import fontpipe`): each public function, as a program would use it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import fontpipe
from fontpipe.scoring.columns import OUTPUT_COLUMNS, TEXT_OUTPUT_COLUMNS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def models(tiny_version, tmp_path_factory):
    """A registry whose mean-rule champion is the tiny test model."""
    from fontpipe.registry.champions import promote

    directory = tmp_path_factory.mktemp("api") / "models"
    directory.mkdir()
    shutil.copytree(tiny_version, directory / tiny_version.name)
    promote(directory, tiny_version.name, "for the API tests")
    return directory


def test_public_names_are_listed_documented_and_lazy():
    assert set(fontpipe.__all__) >= {
        "load_model",
        "score_table",
        "generate",
        "train",
        "evaluate",
        "Predictor",
        "FontpipeError",
        "GenerateConfig",
        "TrainConfig",
        "__version__",
    }
    for name in fontpipe.__all__:
        value = getattr(fontpipe, name)
        if callable(value):
            assert value.__doc__, name
    assert (ROOT / "fontpipe" / "py.typed").exists()
    quick = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, fontpipe; print('pyarrow' in sys.modules, 'keras' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert quick.stdout.split() == ["False", "False"]  # importing the package stays cheap


def test_load_model_resolves_the_champion_of_a_rule(models, tiny_version):
    model = fontpipe.load_model("champion", rule="mean", models_dir=models)
    assert model.version == tiny_version.name and model.rule == "mean"
    with pytest.raises(fontpipe.FontpipeError, match="wcag"):
        fontpipe.load_model("champion", rule="wcag", models_dir=models)  # none promoted
    with pytest.raises(fontpipe.FontpipeError, match="unknown rule"):
        fontpipe.load_model("champion", rule="contrast", models_dir=models)


def test_predict_takes_strings_arrays_frames_and_tables(models):
    model = fontpipe.load_model("champion", rule="mean", models_dir=models)
    texts = ["#00ff7e", "oklch(63.7% 0.237 25.331)", "rgb(0 0 0 / 50%)", "rebeccapurple"]
    table = model.predict(texts)
    assert isinstance(table, pa.Table)
    assert table.column_names == ["color", *OUTPUT_COLUMNS, *TEXT_OUTPUT_COLUMNS]
    assert table.column("srgb_hex").to_pylist() == ["#00ff7e", "#fb2c36", "#808080", "#663399"]
    # The same answers as `fontpipe predict`, which reads the same cube table.
    from fontpipe.predict import predict_colors

    expected = predict_colors(model.path, texts)
    assert table.column("p_black").to_pylist() == pytest.approx([p.p_black for p in expected])
    assert table.column("contrast_black").to_pylist() == pytest.approx(
        [p.contrast_black for p in expected], rel=1e-5
    )
    rgb = np.array([[0, 255, 126], [251, 44, 54]], dtype=np.uint8)
    from_array = model.predict(rgb)
    assert from_array.column_names[:3] == ["r", "g", "b"]
    assert from_array.column("p_black").to_pylist() == pytest.approx(
        table.column("p_black").to_pylist()[:2]
    )
    frame = model.predict(pd.DataFrame({"name": ["a", "b"], "color": ["#fff", "#000"]}))
    assert isinstance(frame, pd.DataFrame) and list(frame["name"]) == ["a", "b"]
    assert list(frame["srgb_hex"]) == ["#ffffff", "#000000"]
    assert model.predict(pa.table({"color": ["white"]})).num_rows == 1
    with pytest.raises(fontpipe.FontpipeError, match=r"row 2, column 'color'.*'#ggg'"):
        model.predict(["#fff", "#ggg"])
    with pytest.raises(fontpipe.FontpipeError, match="shape"):
        model.predict(np.zeros((2, 4), np.uint8))


def test_score_table_matches_the_score_command(models, tmp_path):
    from fontpipe.scoring.job import score_files
    from fontpipe.scoring.plan import ScoreConfig

    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (5_000, 3), dtype=np.uint8)
    source = pa.table({"id": np.arange(5_000), "r": rgb[:, 0], "g": rgb[:, 1], "b": rgb[:, 2]})
    pq.write_table(source, tmp_path / "in.parquet")
    model = fontpipe.load_model("champion", rule="mean", models_dir=models)
    score_files([str(tmp_path / "in.parquet")], tmp_path / "out.parquet", model.path, ScoreConfig())
    expected = pq.read_table(tmp_path / "out.parquet")
    scored = fontpipe.score_table(source, model=model)
    for name in ["id", *OUTPUT_COLUMNS]:
        assert scored.column(name).to_pylist() == expected.column(name).to_pylist(), name
    frame = fontpipe.score_table(source.to_pandas(), model=model)
    assert isinstance(frame, pd.DataFrame) and len(frame) == 5_000


def test_the_api_finds_the_colour_column_as_score_does(models):
    """Issue 23, item 1: a hinted name never beats `color`, and a choice between hinted names is
    made by the values (or refused, listing them), not by column order."""
    model = fontpipe.load_model("champion", rule="mean", models_dir=models)
    families = pa.table(
        {"color_family": ["red", "blue"], "subgroup": ["a", "b"], "color": ["#000", "#fff"]}
    )
    scored = fontpipe.score_table(families, model=model)
    assert scored.column("srgb_hex").to_pylist() == ["#000000", "#ffffff"]
    hinted = pa.table({"color_family": ["warm", "cold"], "bg_hex": ["#000000", "#ffffff"]})
    assert fontpipe.score_table(hinted, model=model).column("srgb_hex").to_pylist() == [
        "#000000",
        "#ffffff",
    ]
    both = pa.table({"bg": ["#000", "#fff"], "hex": ["#fff", "#000"]})
    with pytest.raises(fontpipe.FontpipeError, match="'bg', 'hex' each hold colours"):
        fontpipe.score_table(both, model=model)
    with pytest.raises(fontpipe.FontpipeError, match=r"'R'.*differ only in case"):
        fontpipe.score_table(pa.table({"r": [1], "g": [2], "b": [3], "R": [200]}), model=model)


def test_the_api_refuses_channels_it_would_have_to_guess(models):
    """Issue 23, item 7: 0-1 floats, booleans and numbers as colour strings are refused as the
    command line refuses them; `scale` settles the floats."""
    model = fontpipe.load_model("champion", rule="mean", models_dir=models)
    unit = np.array([[1.0, 1.0, 1.0], [0.0, 0.5, 0.0]])
    with pytest.raises(fontpipe.FontpipeError, match=r"scale=255 or scale=1, or pass uint8"):
        model.predict(unit)
    white = model.predict(unit, scale=1)
    assert white.column("p_black").to_pylist()[0] == pytest.approx(
        model.predict(["#ffffff"]).column("p_black").to_pylist()[0]
    )
    assert model.predict(np.array([[255.0, 255.0, 255.0]])).num_rows == 1  # whole, above 1
    with pytest.raises(fontpipe.FontpipeError, match="bool is not colours"):
        model.predict(np.ones((2, 3), dtype=bool))
    with pytest.raises(fontpipe.FontpipeError, match="'r' holds booleans"):
        model.predict(pd.DataFrame({"r": [True], "g": [False], "b": [True]}))
    with pytest.raises(fontpipe.FontpipeError, match="'color' holds int64 values"):
        model.predict(pa.table({"color": [16711680]}))
    with pytest.raises(fontpipe.FontpipeError, match=r"row 1, column 'color': a number"):
        model.predict(["123", "#fff"])
    with pytest.raises(fontpipe.FontpipeError, match=r"row 2, column 'r'.*'9007199254740993'"):
        model.predict(pa.table({"r": [0, 2**53 + 1], "g": [0, 0], "b": [0, 0]}))


def test_generate_train_and_evaluate_take_the_config_models(tmp_path):
    dataset = fontpipe.generate(
        fontpipe.GenerateConfig(rows=6_000, rule="wcag", sampling="boundary", seed=4),
        tmp_path / "ds",
    )
    assert dataset.split_rows("train") == 4_800
    from fontpipe.training.inputs import InputConfig

    version = fontpipe.train(
        dataset,
        fontpipe.TrainConfig(epochs=1, inputs=InputConfig(batch_size=256), device="cpu"),
        tmp_path / "models",
    )
    assert version.rule == "wcag"
    metrics = fontpipe.evaluate(
        version.path, report=tmp_path / "report" / "report.html", models_dir=tmp_path / "models"
    )
    assert metrics.version == version.name and metrics.rule == "wcag"
    assert 0 < metrics.headline.accuracy <= 1
    assert (tmp_path / "report" / "metrics.json").exists()


def test_a_strict_mypy_client_type_checks(tmp_path):
    client = tmp_path / "client.py"
    client.write_text(
        textwrap.dedent(
            """
            import numpy as np
            import pyarrow as pa

            import fontpipe


            def text_colours(colours: list[str]) -> list[str]:
                model: fontpipe.Predictor = fontpipe.load_model("champion", rule="wcag")
                table = model.predict(colours)
                assert isinstance(table, pa.Table)
                return [str(v) for v in table.column("text_color").to_pylist()]


            def scored(table: pa.Table) -> pa.Table:
                return fontpipe.score_table(table, model="champion")


            def version() -> str:
                return fontpipe.__version__


            def fails() -> None:
                try:
                    fontpipe.load_model("champion", rule="wcag")
                except fontpipe.FontpipeError as exc:
                    print(exc)


            config = fontpipe.GenerateConfig(rows=1_000, rule="wcag")
            grid = np.zeros((1, 3), np.uint8)
            """
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(client)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _readme_blocks(section: str) -> list[str]:
    readme = (ROOT / "README.md").read_text()
    body = readme.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return [block.split("```", 1)[0] for block in body.split("```python\n")[1:]]


def test_readme_python_and_dask_examples_run_as_written(models, tmp_path):
    """Each ```python block of the README's "Python API" section, run as a script against a data
    directory whose wcag champion exists (the Dask one starts a real LocalCluster)."""
    from fontpipe.registry.champions import promote

    data = tmp_path / "data"
    source = next(p for p in models.iterdir() if p.is_dir() and not p.name.startswith("."))
    # The version alone, not the fixture's promotion log: that names it the mean champion, and
    # a log naming a wcag version as the mean champion is refused when read.
    version = data / "models" / source.name
    shutil.copytree(source, version)
    metadata = json.loads((version / "metadata.json").read_text())
    metadata["rule"] = "wcag"  # stands in for a wcag champion: the examples read the answers
    (version / "metadata.json").write_text(json.dumps(metadata))
    promote(data / "models", version.name, "for the README examples")
    blocks = _readme_blocks("Python API")
    assert len(blocks) >= 2 and any("map_partitions" in b for b in blocks)
    for index, block in enumerate(blocks):
        script = tmp_path / f"example_{index}.py"
        script.write_text(block)
        done = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
            env={**__import__("os").environ, "FONTPIPE_DATA": str(data)},
        )
        assert done.returncode == 0, f"README block {index}:\n{block}\n{done.stderr[-3000:]}"
        assert done.stdout.strip(), f"README block {index} printed nothing"
