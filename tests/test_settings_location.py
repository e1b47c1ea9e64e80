"""The tests' settings live in a temporary folder, never in the user's."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

pytest.importorskip("qtpy")


def test_the_default_settings_file_is_in_the_tests_temporary_folder():
    from deconv_gui.gui.support.settings import make_settings

    home = Path(os.environ["XDG_CONFIG_HOME"])
    assert home.resolve().is_relative_to(Path(tempfile.gettempdir()).resolve())  # conftest.py
    assert Path(make_settings().fileName()).is_relative_to(home)


def test_a_subprocess_writes_its_settings_there_too():
    code = (
        "from deconv_gui.gui.support.settings import make_settings; "
        "s = make_settings(); s.setValue('probe', 1); s.sync(); print(s.fileName())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    written = Path(out.stdout.strip())
    assert written.is_relative_to(Path(os.environ["XDG_CONFIG_HOME"])) and written.is_file()
