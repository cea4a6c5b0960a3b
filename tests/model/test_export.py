"""Exports load back in their own runtimes and decide as the model does: on 100,000 random
colours and on the colours nearest the boundary, for both model families."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from typer.testing import CliRunner

from cli.app import app
from fontpipe.color.cube import cube_index
from fontpipe.export import boundary_colours, export_model
from fontpipe.quiet import import_tensorflow
from fontpipe.registry.versions import ensure_cube_table, open_version
from fontpipe.schema import black_text

BOUNDARY = 20_000
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tables_version(exact_model):
    """The session's wcag channel-table version (fitted on the whole cube, as the browser-parity
    test uses it): its exports must decide as it does on every colour."""
    return exact_model("wcag").path


@pytest.fixture(params=["channel-tables", "mlp"])
def version_and_colours(request, tables_version, tiny_version):
    version = open_version(tables_version if request.param == "channel-tables" else tiny_version)
    table = np.asarray(ensure_cube_table(version)).astype(np.float32)
    rng = np.random.default_rng(11)
    colours = np.concatenate(
        [rng.integers(0, 256, (100_000, 3), dtype=np.uint8), boundary_colours(table, BOUNDARY)]
    )
    return version, colours, black_text(table[cube_index(colours)])


def assert_decisions(version, p_black, expected):
    """A channel-table model's exports decide exactly as it does. An MLP's float32 arithmetic
    rounds differently in each runtime, so a colour whose P(black) is within 1e-6 of one half
    may land on the other side; none farther away may."""
    decided = black_text(np.asarray(p_black, dtype=np.float32))
    if version.metadata.config["model"]["architecture"] == "channel-tables":
        assert np.array_equal(decided, expected)
        return
    differ = decided != expected
    assert np.all(np.abs(np.asarray(p_black)[differ] - 0.5) < 1e-6), int(differ.sum())


def test_savedmodel_round_trip(version_and_colours, tmp_path):
    tf = import_tensorflow()
    version, colours, expected = version_and_colours
    path = export_model(version, "savedmodel", tmp_path / "savedmodel")
    loaded = tf.saved_model.load(str(path))
    p_black = loaded.signatures["serving_default"](rgb=tf.constant(colours.astype(np.float32)))
    assert_decisions(version, p_black["p_black"].numpy(), expected)
    assert json.loads((path / "fontpipe.json").read_text())["model_version"] == version.name


def test_tflite_round_trip(version_and_colours, tmp_path):
    tf = import_tensorflow()
    version, colours, expected = version_and_colours
    path = export_model(version, "tflite", tmp_path / "model.tflite")
    interpreter = tf.lite.Interpreter(model_path=str(path))
    source = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(source["index"], [len(colours), 3])
    interpreter.allocate_tensors()
    interpreter.set_tensor(source["index"], colours.astype(np.float32))
    interpreter.invoke()
    p_black = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    assert_decisions(version, p_black, expected)


def test_json_and_javascript_round_trip(version_and_colours, tmp_path):
    version, colours, expected = version_and_colours
    path = export_model(version, "json", tmp_path / "model.json")
    document = json.loads(path.read_text())
    assert document["model_version"] == version.name and document["format"] == "fontpipe-export/1"
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the JavaScript export is checked where it is")
    (tmp_path / "colours.json").write_text(json.dumps(colours.tolist()))
    runner_js = tmp_path / "run.js"
    runner_js.write_text(
        "const fs = require('fs');\n"
        f"const m = require({json.dumps(str(tmp_path / 'model.js'))});\n"
        f"const colours = JSON.parse(fs.readFileSync({json.dumps(str(tmp_path / 'colours.json'))}));\n"
        "const out = colours.map(([r, g, b]) => m.textColor(r, g, b).text_color === 'black' ? 1 : 0);\n"
        "process.stdout.write(JSON.stringify(out));\n"
    )
    done = subprocess.run([node, str(runner_js)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    decided = np.array(json.loads(done.stdout), dtype=bool)
    assert np.array_equal(decided, expected)


def test_es_module_takes_css_strings_and_decides_as_the_script(tables_version, tmp_path):
    """The ES module answers as the script for r, g, b, and the same for the colour written as
    hex or rgb(); its types declare both forms."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the JavaScript export is checked where it is")
    export_model(open_version(tables_version), "json", tmp_path / "model.json")
    types = (tmp_path / "model.d.mts").read_text()
    assert "textColor(css: string): TextColorAnswer" in types
    assert "textColor(r: number, g: number, b: number)" in types
    colours = np.random.default_rng(3).integers(0, 256, size=(300, 3)).tolist()
    (tmp_path / "colours.json").write_text(json.dumps(colours))
    runner_js = tmp_path / "run.mjs"
    runner_js.write_text(
        "import fs from 'fs';\n"
        "import { createRequire } from 'module';\n"
        f"import textColor, {{ parseColor }} from {json.dumps((tmp_path / 'model.mjs').as_uri())};\n"
        "const script = createRequire(import.meta.url)"
        f"({json.dumps(str(tmp_path / 'model.js'))});\n"
        f"const colours = JSON.parse(fs.readFileSync({json.dumps(str(tmp_path / 'colours.json'))}));\n"
        "const hex = (c) => '#' + c.map((v) => v.toString(16).padStart(2, '0')).join('');\n"
        "const rows = colours.map(([r, g, b]) => [script.textColor(r, g, b).text_color,\n"
        "  textColor(r, g, b).text_color, textColor(hex([r, g, b])).text_color,\n"
        "  textColor(`rgb(${r}, ${g}, ${b})`).text_color, textColor(`rgb(${r} ${g} ${b} / 1)`).text_color]);\n"
        "let refused = 0;\n"
        "for (const bad of ['#12', 'rgb(1, 2)', 'hsl(0 0% 0%)', '#0000', 'nope']) {\n"
        "  try { textColor(bad); } catch (e) { if (e instanceof TypeError) refused++; }\n"
        "}\n"
        "const parsed = [parseColor('#fff8'), parseColor('rgb(100% 0% 50%)'), parseColor('#ABC')];\n"
        "process.stdout.write(JSON.stringify({rows, refused, parsed}));\n"
    )
    done = subprocess.run([node, str(runner_js)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert all(len(set(row)) == 1 for row in result["rows"])
    assert result["refused"] == 5
    half = 255 * (1 - 0x88 / 255)  # #fff8: white over white stays white
    assert result["parsed"][0] == pytest.approx([255 * 0x88 / 255 + half] * 3)
    assert result["parsed"][1] == [255, 0, 127.5]
    assert result["parsed"][2] == [0xAA, 0xBB, 0xCC]


def test_export_command(tables_version, tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "export",
            str(tables_version),
            "--format",
            "json",
            "--out",
            str(tmp_path / "m.json"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    jsonschema.validate(document, json.loads((ROOT / "schemas" / "export.json").read_text()))
    paths = document["paths"]
    assert paths == [str(tmp_path / name) for name in ("m.json", "m.js", "m.mjs", "m.d.mts")]
    wrong = CliRunner().invoke(
        app, ["export", str(tables_version), "--format", "pickle", "--out", "x"]
    )
    assert wrong.exit_code == 2 and "pickle" in wrong.output


def test_onnx_round_trip(version_and_colours, tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    version, colours, expected = version_and_colours
    path = export_model(version, "onnx", tmp_path / "model.onnx")
    session = onnxruntime.InferenceSession(str(path))
    (p_black,) = session.run(None, {"rgb": colours.astype(np.float32)})
    assert_decisions(version, p_black, expected)
