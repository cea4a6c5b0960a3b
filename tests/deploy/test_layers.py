"""The import contracts that `make lint` checks: they hold today, and they catch a library module
that imports a framework, a floor that imports one above it, and an import circle, even one
hidden inside a function."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}  # the tree's packages, not the installed ones
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tree_copy(tmp_path):
    for package in ("fontpipe", "flows", "cli"):
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_contract_holds(tree_copy):
    done = _lint_imports(tree_copy)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "4 kept, 0 broken" in done.stdout


@pytest.mark.parametrize("framework", ["prefect", "typer", "rich", "flows.environment"])
def test_a_library_module_importing_a_framework_breaks_it(tree_copy, framework):
    module = tree_copy / "fontpipe" / "color" / "cube.py"
    module.write_text(module.read_text() + f"\nimport {framework}  # noqa\n")
    done = _lint_imports(tree_copy)
    assert done.returncode != 0
    assert "fontpipe.color.cube ->" in done.stdout and "BROKEN" in done.stdout


def _broken(done: subprocess.CompletedProcess[str], contract: str) -> bool:
    return done.returncode != 0 and f"{contract} BROKEN" in " ".join(done.stdout.split())


def test_an_import_inside_a_function_that_closes_a_circle_breaks_it(tree_copy):
    # color.cube imports schema at the top; schema importing cube back, even lazily, is a circle.
    module = tree_copy / "fontpipe" / "schema.py"
    module.write_text(
        module.read_text() + "\n\ndef _lazy():\n    from fontpipe.color.cube import cube_index\n"
        "\n    return cube_index\n"
    )
    done = _lint_imports(tree_copy)
    assert _broken(done, "No import circle inside the library"), done.stdout[-2000:]


def test_a_circle_between_modules_of_one_package_breaks_it(tree_copy):
    # scoring.manifest imports scoring.plan; plan importing manifest back closes a circle that
    # no floor of the layer contract sees (both are in one room).
    module = tree_copy / "fontpipe" / "scoring" / "plan.py"
    module.write_text(
        module.read_text() + "\n\ndef _lazy():\n    from fontpipe.scoring import manifest\n"
        "\n    return manifest\n"
    )
    done = _lint_imports(tree_copy)
    assert _broken(done, "No import circle inside the library"), done.stdout[-2000:]
    assert "3 kept, 1 broken" in done.stdout


def test_a_floor_importing_one_above_it_breaks_the_library_floors(tree_copy):
    module = tree_copy / "fontpipe" / "data" / "generation.py"
    module.write_text(module.read_text() + "\n\ndef _lazy():\n    import fontpipe.scoring.job\n")
    done = _lint_imports(tree_copy)
    assert done.returncode != 0
    assert "fontpipe.data.generation -> fontpipe.scoring.job" in done.stdout
