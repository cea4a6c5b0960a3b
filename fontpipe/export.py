"""Taking a model version out of Python: TF Serving, mobile and the web.

Formats:
- `savedmodel`: a TensorFlow SavedModel with one `serve` signature, float32 (n, 3) 0-255 colours
  in, `p_black` (n,) out, for TF Serving.
- `onnx`: the same function converted by tf2onnx (the `export` extra), for ONNX Runtime.
- `tflite`: the same function as a LiteRT (TensorFlow Lite) flatbuffer, for mobile.
- `json`: the weights plus dependency-free JavaScript with the weights inlined, written beside
  the JSON, so a web page decides locally: a script (`model.js`, `textColor(r, g, b)`), and an
  ES module (`model.mjs`) with its TypeScript types (`model.d.mts`), whose `textColor` also
  takes a CSS colour string (hex, `rgb()`).

Every export computes in float32 except `json`, whose JavaScript runs in float64: a channel-table
model's export keeps its float64 tables there, and its float32 tables elsewhere (float32 tables
still decide every one of the cube's colours as the model does; the round-trip tests check it).
Each export writes beside its target and renames, and records the version it came from. Nothing
already there is replaced without `force`: not a non-empty directory, not a file.
"""

from __future__ import annotations

# tf2onnx is an optional extra (fontpipe[export]), imported only to export ONNX.
import json
import shutil
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from fontpipe.atomic import atomic_directory, check_writable, staging_path, write_files_atomic
from fontpipe.color.cube import cube_colours_of
from fontpipe.errors import FontpipeError
from fontpipe.model import ModelConfig, build_model
from fontpipe.quiet import import_tensorflow
from fontpipe.registry.versions import ModelVersion, load_keras_model

ExportFormat = Literal["savedmodel", "onnx", "tflite", "json"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("savedmodel", "onnx", "tflite", "json")
JSON_FORMAT = "fontpipe-export/1"


def export_model(
    version: ModelVersion, export_format: str, out: Path, *, force: bool = False
) -> Path:
    """Export `version` to `out` in `export_format`; returns the path written. What is already
    at `out` (or beside it, for the files an export writes there) is replaced only with
    `force`."""
    if export_format not in EXPORT_FORMATS:
        raise FontpipeError(
            f"unknown export format {export_format!r} (expected one of {', '.join(EXPORT_FORMATS)})"
        )
    out = Path(out)
    check_export_target(export_format, out, force=force)
    model = load_keras_model(version)
    if export_format == "json":
        return _export_json(version, model, out)
    served = serving_model(model)
    function = _serving_function(served)
    if export_format == "savedmodel":
        return _export_savedmodel(version, served, function, out)
    if export_format == "onnx":
        return _export_onnx(version, function, out)
    return _export_tflite(version, function, out)


def export_paths(export_format: str, out: Path) -> list[Path]:
    """Every path an export writes: `out`, then its companion (the JavaScript of a json export,
    the provenance of an onnx or tflite one; a savedmodel keeps its provenance inside)."""
    if export_format == "savedmodel":
        return [out]
    if export_format == "json":
        return [
            out,
            out.with_name(javascript_name(out)),
            out.with_name(out.stem + ".mjs"),
            out.with_name(out.stem + ".d.mts"),
        ]
    return [out, out.with_name(out.name + ".json")]


def check_export_target(export_format: str, out: Path, *, force: bool = False) -> None:
    """Refuse, before the model is loaded, a target that would lose data or cannot be written."""
    for path in export_paths(export_format, out):
        if export_format != "savedmodel" and path.is_dir():
            raise FontpipeError(
                f"{path}: is a directory; --format {export_format} writes a file "
                f"(e.g. --out {path / ('model.' + export_format)})"
            )
        if force or not path.exists():
            continue
        if path.is_dir() and not any(path.iterdir()):
            continue  # an empty directory holds nothing to lose
        what = "a non-empty directory" if path.is_dir() else "a file"
        raise FontpipeError(f"{path}: {what} is already there; pass --force to replace it")
    check_writable(out)


def model_weights(model: Any) -> dict[str, Any]:
    """The weights of either model family as plain lists, with what the JavaScript needs to
    evaluate them."""
    names = {layer.name for layer in model.layers}
    if "channel_tables" in names:
        layer = model.get_layer("channel_tables")
        return {
            "architecture": "channel-tables",
            "tables": np.asarray(layer.tables, dtype=np.float64).tolist(),
            "bias": float(np.asarray(layer.bias)),
        }
    dense = [layer for layer in model.layers if layer.__class__.__name__ == "Dense"]
    return {
        "architecture": "mlp",
        "layers": [
            {
                "kernel": np.asarray(layer.kernel, dtype=np.float64).tolist(),
                "bias": np.asarray(layer.bias, dtype=np.float64).tolist(),
                "relu": layer.activation.__name__ == "relu",
            }
            for layer in dense
        ],
    }


def serving_model(model: Any) -> Any:
    """The model as exports run it, in float32: a channel-table model is rebuilt with float32
    tables (they still decide every colour of the cube as the float64 ones do), an MLP is
    float32 already."""
    if "channel_tables" not in {layer.name for layer in model.layers}:
        return model

    copy = build_model(ModelConfig(architecture="channel-tables"), seed=0, table_dtype="float32")
    source = model.get_layer("channel_tables").get_weights()
    copy.get_layer("channel_tables").set_weights([np.asarray(w, np.float32) for w in source])
    return copy


def _serving_function(model: Any) -> Any:
    """A tf.function: float32 (n, 3) 0-255 -> float32 P(black) (n,)."""

    tf = import_tensorflow()

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="rgb")])  # type: ignore[untyped-decorator]
    def p_black(rgb: Any) -> Any:
        logits = tf.cast(model(rgb, training=False), tf.float32)
        return {"p_black": tf.nn.softmax(logits, axis=-1)[:, 1]}

    return p_black


def _export_savedmodel(version: ModelVersion, model: Any, function: Any, out: Path) -> Path:

    tf = import_tensorflow()
    module = tf.Module()
    module.model = model  # tracked, so the variables the function reads are saved with it
    module.p_black = function
    with atomic_directory(out, replace=True) as staging:
        shutil.rmtree(staging)  # tf.saved_model.save makes the directory itself
        tf.saved_model.save(module, str(staging), signatures={"serving_default": function})
        (staging / "fontpipe.json").write_text(json.dumps(provenance(version), indent=2) + "\n")
    return out


def _export_tflite(version: ModelVersion, function: Any, out: Path) -> Path:

    tf = import_tensorflow()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function.get_concrete_function()])
    flatbuffer: bytes = converter.convert()
    files: dict[Path, str | bytes] = {
        out: flatbuffer,
        out.with_name(out.name + ".json"): json.dumps(provenance(version), indent=2) + "\n",
    }
    write_files_atomic(files)
    return out


def _export_onnx(version: ModelVersion, function: Any, out: Path) -> Path:
    try:
        import tf2onnx
    except ImportError:
        raise FontpipeError(
            "ONNX export needs tf2onnx and onnx: pip install 'fontpipe[export]'"
        ) from None

    tf = import_tensorflow()
    staging = staging_path(out.with_name(out.name + ".converting"))
    try:
        tf2onnx.convert.from_function(
            function,
            input_signature=[tf.TensorSpec([None, 3], tf.float32, name="rgb")],
            opset=17,
            output_path=str(staging),
        )
        files: dict[Path, str | bytes] = {
            out: staging.read_bytes(),
            out.with_name(out.name + ".json"): json.dumps(provenance(version), indent=2) + "\n",
        }
        write_files_atomic(files)
    finally:
        staging.unlink(missing_ok=True)
    return out


def _export_json(version: ModelVersion, model: Any, out: Path) -> Path:
    document = {**provenance(version), "format": JSON_FORMAT, **model_weights(model)}
    text = json.dumps(document)
    script, module, types = export_paths("json", out)[1:]
    write_files_atomic(
        {
            out: text + "\n",
            script: javascript_module(document),
            module: es_module(document),
            types: ES_MODULE_TYPES,
        }
    )
    return out


def javascript_name(json_path: Path) -> str:
    return json_path.stem + ".js"


def provenance(version: ModelVersion) -> dict[str, Any]:
    return {
        "model_version": version.name,
        "rule": version.rule,
        "weights_sha256": version.metadata.weights_sha256,
        "input": "r, g, b in 0-255 (sRGB, 8 bits per channel; fractions are interpolated)",
        "output": "p_black: the probability that black text reads better; black when > 0.5",
    }


# The decision in a few lines of dependency-free JavaScript (ES5, so any browser runs it).
# Channel tables are summed in the same order as the model, in float64, so the page decides
# exactly as the model does.
DECIDE_JS = """function fontpipeDecide(model, r, g, b) {
  var s;
  if (model.architecture === "channel-tables") {
    var rgb = [r, g, b], parts = [];
    for (var c = 0; c < 3; c++) {
      var x = Math.min(Math.max(rgb[c], 0), 255), i = Math.floor(x), f = x - i;
      var j = Math.min(i + 1, 255), t = model.tables[c];
      parts.push(t[i] + f * (t[j] - t[i]));
    }
    s = ((parts[0] + parts[1]) + parts[2]) + model.bias;
  } else {
    var v = [r / 127.5 - 1, g / 127.5 - 1, b / 127.5 - 1];
    for (var l = 0; l < model.layers.length; l++) {
      var layer = model.layers[l], next = [];
      for (var o = 0; o < layer.bias.length; o++) {
        var sum = layer.bias[o];
        for (var k = 0; k < v.length; k++) sum += v[k] * layer.kernel[k][o];
        next.push(layer.relu ? Math.max(sum, 0) : sum);
      }
      v = next;
    }
    s = v[1] - v[0];
  }
  var p = 1 / (1 + Math.exp(-s));
  return {p_black: p, text_color: s > 0 ? "black" : "white"};
}"""


def javascript_module(document: dict[str, Any]) -> str:
    """The JavaScript file of a JSON export: the weights inlined and `fontpipeDecide`."""
    return (
        # Names as JSON string literals (ASCII only): a line break or U+2028 in a name cannot end
        # the comment and turn the rest of the line into code.
        "// fontpipe model "
        + json.dumps(str(document["model_version"]))
        + " ("
        + json.dumps(str(document["rule"]))
        + ")"
        "\n// textColor(r, g, b) -> {p_black, text_color}; r, g, b in 0-255.\n"
        "var FONTPIPE_MODEL = " + json.dumps(document) + ";\n" + DECIDE_JS + "\n"
        "function textColor(r, g, b) { return fontpipeDecide(FONTPIPE_MODEL, r, g, b); }\n"
        "if (typeof module !== 'undefined') { module.exports = {textColor: textColor, "
        "fontpipeDecide: fontpipeDecide, FONTPIPE_MODEL: FONTPIPE_MODEL}; }\n"
    )


# CSS colour strings for the ES module's textColor: hex (#rgb, #rgba, #rrggbb, #rrggbbaa) and
# rgb()/rgba() in either syntax, numbers or percentages, `none` as 0. A translucent colour is
# composited over white, as `fontpipe predict` does by default; a fully transparent one, or any
# other notation, is refused with a TypeError (the full grammar is fontpipe's own, in Python).
PARSE_COLOR_JS = r"""export function parseColor(css) {
  var text = String(css).trim().toLowerCase(), m, alpha = 1, rgb;
  if ((m = /^#([0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$/.exec(text))) {
    var h = m[1];
    if (h.length <= 4) h = h.split("").map(function (c) { return c + c; }).join("");
    rgb = [0, 2, 4].map(function (i) { return parseInt(h.slice(i, i + 2), 16); });
    if (h.length === 8) alpha = parseInt(h.slice(6, 8), 16) / 255;
  } else if ((m = /^rgba?\(\s*(.*?)\s*\)$/.exec(text))) {
    var body = m[1], parts, a = null;
    if (body.indexOf(",") >= 0) {
      parts = body.split(/\s*,\s*/);
      if (parts.length === 4) a = parts.pop();
    } else {
      var slash = body.split(/\s*\/\s*/);
      if (slash.length > 2) throw new TypeError("not a colour: " + css);
      parts = slash[0].split(/\s+/);
      if (slash.length === 2) a = slash[1];
    }
    if (parts.length !== 3) throw new TypeError("not a colour: " + css);
    rgb = parts.map(function (p) { return component(p, 255, css); });
    if (a !== null) alpha = component(a, 1, css);
  } else {
    throw new TypeError("not a hex or rgb() colour: " + css);
  }
  if (!(alpha > 0)) throw new TypeError("fully transparent: " + css);
  return rgb.map(function (c) { return c * alpha + 255 * (1 - alpha); });
}
function component(text, scale, css) {
  if (text === "none") return 0;
  var percent = /%$/.test(text), value = Number(percent ? text.slice(0, -1) : text);
  if (text === "" || !isFinite(value)) throw new TypeError("not a colour: " + css);
  value = percent ? value / 100 * scale : value;
  return Math.min(Math.max(value, 0), scale);
}"""

ES_MODULE_TYPES = """// Types of the fontpipe model module beside this file (model.mjs).
export interface TextColorAnswer {
  /** The probability that black text reads better. */
  p_black: number;
  /** Black when p_black > 0.5. */
  text_color: "black" | "white";
}
/** r, g, b in 0-255 (sRGB; fractions are interpolated). */
export declare function textColor(r: number, g: number, b: number): TextColorAnswer;
/** A CSS colour: #rgb, #rgba, #rrggbb, #rrggbbaa, rgb() or rgba(); throws a TypeError otherwise. */
export declare function textColor(css: string): TextColorAnswer;
/** r, g, b in 0-255 of a hex or rgb() colour, composited over white when translucent. */
export declare function parseColor(css: string): [number, number, number];
export declare function fontpipeDecide(
  model: FontpipeModel, r: number, g: number, b: number
): TextColorAnswer;
export interface FontpipeModel {
  model_version: string;
  rule: string;
  architecture: "mlp" | "channel-tables";
  [key: string]: unknown;
}
export declare const FONTPIPE_MODEL: FontpipeModel;
export default textColor;
"""


def es_module(document: dict[str, Any]) -> str:
    """The ES module of a JSON export: the same weights and decision as the script, and a
    `textColor` that also takes a CSS colour string."""
    return (
        "// fontpipe model "
        + json.dumps(str(document["model_version"]))
        + " ("
        + json.dumps(str(document["rule"]))
        + ")"
        '\n// textColor(r, g, b) or textColor("#336699" | "rgb(51 102 153)") -> '
        "{p_black, text_color}. Types: the .d.mts file beside this one.\n"
        "export const FONTPIPE_MODEL = " + json.dumps(document) + ";\n"
        "export " + DECIDE_JS + "\n" + PARSE_COLOR_JS + "\n"
        "export function textColor(r, g, b) {\n"
        '  if (typeof r === "string") { var rgb = parseColor(r); r = rgb[0]; g = rgb[1]; b = rgb[2]; }\n'
        "  return fontpipeDecide(FONTPIPE_MODEL, r, g, b);\n"
        "}\n"
        "export default textColor;\n"
    )


def boundary_colours(
    p_black: npt.NDArray[np.float32], limit: int = 100_000
) -> npt.NDArray[np.uint8]:
    """Integer colours where a cube table's P(black) is nearest one half: the colours an export
    is most likely to decide differently."""

    distance = np.abs(p_black.astype(np.float32) - np.float32(0.5))
    nearest = np.argpartition(distance, limit)[:limit]
    return cube_colours_of(nearest.astype(np.int64))
