"""Shared test set-up: Qt runs offscreen, so the suite needs no display; the user's settings
are never touched.

Every window that makes its own settings (``MainWindow()`` without a ``settings``
argument, ``deconv-gui`` run in a subprocess) writes them under ``$XDG_CONFIG_HOME``,
which points into a temporary folder for the whole run (subprocesses inherit it).
"""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

#: where the tests' own settings, recent files and dialog folders go
TEST_CONFIG_HOME = tempfile.mkdtemp(prefix="deconv-gui-tests-config-")
os.environ["XDG_CONFIG_HOME"] = TEST_CONFIG_HOME
atexit.register(shutil.rmtree, TEST_CONFIG_HOME, ignore_errors=True)
