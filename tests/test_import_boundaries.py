"""The core and io layers must never load Qt: they run headless, in the CLI and in workers."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module", ["deconv_gui.core", "deconv_gui.io", "deconv_gui.document", "deconv_gui.view"]
)
def test_layer_does_not_import_qt(module):
    code = (
        f"import sys, {module}; "
        "bad = [m for m in ('PyQt5', 'PyQt6', 'PySide2', 'PySide6', 'qtpy', 'pyqtgraph', "
        "'superqt', 'deconv_gui.gui') "
        "if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{module} imported {out.stdout.strip()}"
