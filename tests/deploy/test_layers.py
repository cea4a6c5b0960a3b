"""The layer contract that `make lint` checks: it holds today, and it catches a library module
that imports a framework."""

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
    assert "2 kept, 0 broken" in done.stdout


@pytest.mark.parametrize("framework", ["prefect", "typer", "rich", "flows.environment"])
def test_a_library_module_importing_a_framework_breaks_it(tree_copy, framework):
    module = tree_copy / "fontpipe" / "cube.py"
    module.write_text(module.read_text() + f"\nimport {framework}  # noqa\n")
    done = _lint_imports(tree_copy)
    assert done.returncode != 0
    assert "fontpipe.cube ->" in done.stdout and "BROKEN" in done.stdout
