"""What every installed copy offers: ``--version``, ``python -m deconv_gui``, the project files,
and a wheel that carries ``resources/`` and finds it without the source tree."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import deconv_gui
from deconv_gui.core import PRESETS

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


#: Every file of resources/ that the installed app reads.
RESOURCE_FILES = (
    "presets.json",
    "seed_question.json",
    "deconv-gui.desktop",
    "deconv-gui.metainfo.xml",
    "icons/deconv-gui.svg",
    *(f"icons/deconv-gui-{n}.png" for n in (16, 32, 48, 64, 128, 256)),
)

_PIP = (sys.executable, "-m", "pip")
_SEED_QUESTION = (
    "--image",
    "seed_toy",
    "--filter",
    "seed_question",
    "--stride",
    "2",
    "--padding",
    "0",
)

# Run in the installed copy, with the source tree out of sight: the package, its resources,
# the presets, the question's example and the icon must all come from the install.
_INSTALLED_CHECK = """
import sys
from pathlib import Path
import deconv_gui
from deconv_gui.core import PRESETS
from deconv_gui.core import PRESETS, make_filter
from deconv_gui.core.resources import resources_root
from deconv_gui.io import load_sample
from importlib.resources import files
site = Path(sys.argv[1]).resolve()
assert Path(deconv_gui.__file__).resolve().is_relative_to(site), deconv_gui.__file__
assert Path(str(resources_root())).resolve() == site / "deconv_gui" / "resources"
assert files("deconv_gui.resources").joinpath("presets.json").is_file()
assert make_filter("sobel_x")[1, 0, 0, 0] == -2 / 3
assert load_sample("seed_toy").pixels.shape == (7, 7, 3)
from qtpy import QtWidgets
from deconv_gui.gui.support.style import app_icon
app = QtWidgets.QApplication([])
assert len(app_icon().availableSizes()) == 6  # every PNG of the installed icon
print(" ".join(PRESETS))
"""


def _setuptools_builds_wheels() -> bool:
    """True if this environment's setuptools can build a wheel without pip's isolation."""
    if importlib.util.find_spec("setuptools") is None:
        return False
    if importlib.util.find_spec("wheel") is not None:
        return True
    from importlib.metadata import version

    major, minor = (int(part) for part in version("setuptools").split(".")[:2])
    return (major, minor) >= (70, 1)


@pytest.mark.packaging
def test_the_wheel_carries_resources_and_an_installed_copy_finds_them(tmp_path):
    # build from a copy: setuptools leaves build/ behind, and stale files there would leak
    # into later wheels
    source = tmp_path / "source"
    shutil.copytree(
        REPO,
        source,
        ignore=shutil.ignore_patterns(
            ".git", "build", "dist", "*.egg-info", "__pycache__", ".*cache", ".venv", "venv"
        ),
    )
    wheels = tmp_path / "wheels"
    # the environment's setuptools builds offline and fast when it can make wheels by itself
    # (70.1 and newer, or with the wheel package); otherwise (a fresh venv's old setuptools,
    # or none, as in Python 3.12 venvs) pip builds in its isolated environment instead
    isolation = ["--no-build-isolation"] if _setuptools_builds_wheels() else []
    build = subprocess.run(
        [*_PIP, "wheel", str(source), "--no-deps", *isolation, "-q", "-w", str(wheels)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in RESOURCE_FILES:
        assert f"deconv_gui/resources/{name}" in names, name
    assert "deconv_gui/py.typed" in names
    assert not any(n.startswith(("resources/", "tests/", "scripts/")) for n in names)

    site = tmp_path / "site"
    install = subprocess.run(
        [*_PIP, "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "QT_QPA_PLATFORM": "offscreen"}
    check = subprocess.run(
        [sys.executable, "-c", _INSTALLED_CHECK, str(site)],
        capture_output=True,
        text=True,
        env=env,
        cwd=elsewhere,
        timeout=120,
    )
    assert check.returncode == 0, check.stderr
    assert check.stdout.split() == list(PRESETS)
    info = subprocess.run(
        [sys.executable, "-m", "deconv_gui", "info", *_SEED_QUESTION],
        capture_output=True,
        text=True,
        env=env,
        cwd=elsewhere,
        timeout=120,
    )
    assert info.returncode == 0, info.stderr
    assert "nullity    138" in info.stdout
