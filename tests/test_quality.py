"""The project's habits, enforced by the one test command: types, import contracts, lint.

Each check runs the tool as a subprocess from the repository root with the
configuration in ``pyproject.toml``: mypy on the whole package (the GUI against the
installed binding's stubs, through qtpy), import-linter's contracts (no Qt below the GUI,
the kernels internal to the core, no import cycles), ruff's lint and its formatting. The
tools come with the ``test`` extra.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def _tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if path is None:
        pytest.fail(f"{name} is not installed: pip install '.[test]' brings it")
    return path


def test_the_package_type_checks_with_mypy():
    out = _run([sys.executable, "-m", "mypy"])  # files and options: [tool.mypy]
    assert out.returncode == 0, out.stdout + out.stderr


def test_import_contracts_hold():
    out = _run([_tool("lint-imports")])
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_finds_nothing():
    out = _run([_tool("ruff"), "check", "."])
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_format_leaves_every_file_as_it_is():
    # the README's contributor check; the test extra pins ruff's minor version, whose
    # formatting style is stable within it
    out = _run([_tool("ruff"), "format", "--check", "."])
    assert out.returncode == 0, out.stdout + out.stderr


def test_nothing_outside_the_core_uses_its_internal_kernels():
    # the import-linter contract covers the package; benchmarks and tests are outside it
    uses = re.compile(r"core\._kernels|import _kernels|from \S*_kernels import")
    users = [
        path.relative_to(ROOT).as_posix()
        for folder in ("benchmarks", "tests", "scripts")
        for path in sorted((ROOT / folder).glob("**/*.py"))
        if path.name != "test_quality.py" and uses.search(path.read_text(encoding="utf-8"))
    ]
    assert users == []


def test_qt_comes_through_qtpy():
    # a direct binding import ties the code to PyQt5 (end of life); qtpy keeps PyQt6 and
    # PySide6 open
    direct = re.compile(r"^\s*(from|import)\s+(PyQt5|PyQt6|PySide2|PySide6)\b", re.MULTILINE)
    users = [
        path.relative_to(ROOT).as_posix()
        for folder in ("deconv_gui", "tests", "scripts", "benchmarks")
        for path in sorted((ROOT / folder).glob("**/*.py"))
        if direct.search(path.read_text(encoding="utf-8"))
    ]
    assert users == []
