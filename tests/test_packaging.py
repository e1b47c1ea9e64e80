"""What every installed copy offers: ``--version``, ``python -m deconv_gui``, the project files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import deconv_gui

REPO = Path(__file__).resolve().parents[1]


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )


def test_version_flag_prints_the_package_version(tmp_path):
    done = _run(["-m", "deconv_gui", "--version"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"deconv-gui {deconv_gui.__version__}"


def test_module_runs_the_same_main_as_the_command(tmp_path):
    done = _run(["-m", "deconv_gui", "--help"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: deconv-gui")
    assert "--screenshot" in done.stdout and "--version" in done.stdout
    # a headless command goes through the same dispatch as the console script
    info = _run(["-m", "deconv_gui", "info", "--image", "seed_toy", "--filter", "box"], tmp_path)
    assert info.returncode == 0, info.stderr
    assert "147" in info.stdout


def test_project_files_exist_and_agree_with_pyproject():
    license_text = (REPO / "LICENSE").read_text(encoding="utf-8")
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert "BSD 3-Clause" in license_text and 'text = "BSD-3-Clause"' in pyproject
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## [{deconv_gui.__version__}]" in changelog and "## [Unreleased]" in changelog
    assert (REPO / "deconv_gui" / "py.typed").exists()
