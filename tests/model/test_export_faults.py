"""Exports and label imports onto what is already there, or where nothing can be written: a
one-line error naming the path, nothing replaced without --force, no `.tmp-*` left behind."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import app
from fontpipe.atomic import atomic_file, write_files_atomic
from fontpipe.data.labels import LabelImportConfig, import_labels
from fontpipe.errors import FontpipeError
from fontpipe.export import export_model
from fontpipe.registry.versions import open_version

runner = CliRunner()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if ".tmp-" in p.name or "converting" in p.name)


@pytest.fixture
def version(tiny_version):
    return open_version(tiny_version)


@pytest.fixture
def unwritable(tmp_path):
    """A directory nobody may write to: a read-only tmpfs as root, a mode-555 folder otherwise."""
    folder = tmp_path / f"locked-{uuid.uuid4().hex[:6]}"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_savedmodel_onto_a_non_empty_directory_needs_force(version, tmp_path):
    out = tmp_path / "serving"
    out.mkdir()
    (out / "notes.txt").write_text("precious")
    with pytest.raises(FontpipeError, match=rf"{out}: a non-empty directory .* --force"):
        export_model(version, "savedmodel", out)
    assert (out / "notes.txt").read_text() == "precious"
    assert leftovers(tmp_path) == []
    export_model(version, "savedmodel", out, force=True)
    assert (out / "saved_model.pb").exists() and not (out / "notes.txt").exists()
    assert leftovers(tmp_path) == []


def test_savedmodel_onto_a_file_needs_force_and_leaves_no_hidden_copy(version, tmp_path):
    out = tmp_path / "serving"
    out.write_text("a file")
    with pytest.raises(FontpipeError, match=rf"{out}: a file is already there"):
        export_model(version, "savedmodel", out)
    assert out.read_text() == "a file"
    export_model(version, "savedmodel", out, force=True)
    assert (out / "saved_model.pb").exists()
    assert leftovers(tmp_path) == []  # the replaced file used to stay as .serving.tmp-*


def test_savedmodel_into_an_empty_directory(version, tmp_path):
    out = tmp_path / "serving"
    out.mkdir()
    export_model(version, "savedmodel", out)
    assert (out / "fontpipe.json").exists()


@pytest.mark.parametrize("export_format", ["json", "onnx", "tflite"])
def test_a_file_export_onto_a_directory_is_refused(version, tmp_path, export_format):
    out = tmp_path / "exports"
    out.mkdir()
    with pytest.raises(FontpipeError, match=rf"{out}: is a directory; --format {export_format}"):
        export_model(version, export_format, out, force=True)
    assert list(out.iterdir()) == [] and leftovers(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exports"]


def test_a_json_export_never_replaces_a_file_silently(version, tmp_path):
    out = tmp_path / "model.json"
    export_model(version, "json", out)
    script = tmp_path / "model.js"
    for existing in (out, script):
        before = existing.read_bytes()
        other = out if existing is script else script
        other.unlink()
        with pytest.raises(FontpipeError, match=rf"{existing}: a file is already there"):
            export_model(version, "json", out)
        assert existing.read_bytes() == before and not other.exists()
        export_model(version, "json", out, force=True)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("export_format", ["json", "savedmodel"])
def test_an_export_into_an_unwritable_directory(version, unwritable, export_format):
    out = unwritable / "sub" / "model"
    with pytest.raises(FontpipeError, match=rf"cannot write {out}: "):
        export_model(version, export_format, out)
    assert list(unwritable.iterdir()) == []


def test_export_command_refuses_without_force(tiny_version, tmp_path):
    out = tmp_path / "serving"
    out.mkdir()
    (out / "notes.txt").write_text("precious")
    args = ["export", str(tiny_version), "--format", "savedmodel", "--out", str(out)]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2, refused.output
    assert "pass --force" in refused.output and refused.exception is not None
    assert (out / "notes.txt").exists()
    done = runner.invoke(app, [*args, "--force"])
    assert done.exit_code == 0, done.output
    assert (out / "saved_model.pb").exists() and leftovers(tmp_path) == []


def write_labels(path: Path, rows: list[str]) -> Path:
    path.write_text("color,text\n" + "".join(row + "\n" for row in rows))
    return path


def labelled_rows(n: int) -> list[str]:
    return [
        f"#{i:02x}{3 * i:02x}{7 * i % 256:02x},{'black' if i % 2 else 'white'}" for i in range(n)
    ]


def test_import_labels_rejects_give_1_based_rows(tmp_path):
    source = write_labels(tmp_path / "labels.csv", ["#ffffff,black", "#zzz,white", "#ff0000,grey"])
    source.write_text(source.read_text() + "".join(r + "\n" for r in labelled_rows(30)))
    done = import_labels(source, tmp_path / "ds", LabelImportConfig(text_column="text"))
    assert done.rejects_path is not None
    lines = done.rejects_path.read_text().splitlines()
    assert lines[1].startswith(f"{source},2,color,#zzz,")  # the second data row
    assert lines[2].startswith(f"{source},3,text,grey,")


def test_import_labels_errors_name_the_file(tmp_path):
    source = write_labels(tmp_path / "three.csv", labelled_rows(3))
    with pytest.raises(FontpipeError, match=rf"^{source}: only 3 distinct labelled colours"):
        import_labels(source, tmp_path / "ds", LabelImportConfig(text_column="text"))
    with pytest.raises(FontpipeError, match=rf"^{source}: --text-column: no column 'label'"):
        import_labels(source, tmp_path / "ds", LabelImportConfig(text_column="label"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["three.csv"]


def test_import_labels_into_an_unwritable_directory(tmp_path, unwritable):
    source = write_labels(tmp_path / "labels.csv", labelled_rows(40))
    out = unwritable / "brand"
    done = runner.invoke(
        app, ["import-labels", str(source), "--text-column", "text", "--out", str(out)]
    )
    assert done.exit_code == 2, done.output
    assert f"cannot write {out}" in done.output and "Traceback" not in done.output
    assert list(unwritable.iterdir()) == []


def test_atomic_writes_name_the_target_they_cannot_write(tmp_path, unwritable):
    target = unwritable / "deeper" / "file.txt"
    with pytest.raises(FontpipeError, match=rf"cannot write {target}: "):
        write_files_atomic({target: "text"})
    with pytest.raises(FontpipeError, match=rf"cannot write {target}: "), atomic_file(target) as s:
        s.write_text("text")
    # An unreadable input opened inside the block is not mistaken for the target.
    unreadable = OSError(errno.EACCES, "Permission denied", str(tmp_path / "input.csv"))
    with pytest.raises(OSError, match="Permission denied"), atomic_file(tmp_path / "out") as s:
        raise unreadable
    assert leftovers(tmp_path) == []


def test_export_of_json_onto_a_directory_as_a_process(tiny_version, tmp_path):
    out = tmp_path / "d"
    out.mkdir()
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("fontpipe")),
            "export",
            str(tiny_version),
            "--format",
            "json",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: {out}: is a directory; --format json writes a file (e.g. --out {out}/model.json)"
    ]
    assert leftovers(tmp_path) == []


def test_the_javascript_header_holds_names_as_string_literals():
    from fontpipe.export import javascript_module

    text = javascript_module({"model_version": "v\u2028x\nevil()", "rule": "human:a\rb"})
    header = text.split("\n// textColor")[0]
    assert "\n" not in header and "\u2028" not in header and "\r" not in header
    assert header == '// fontpipe model "v\\u2028x\\nevil()" ("human:a\\rb")'
