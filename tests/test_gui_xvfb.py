"""The real app on a real X server (Xvfb, 1280×800, with openbox when installed), in subprocesses.

Skipped when Xvfb or Qt's X11 libraries are missing (``.ci/run`` installs them when it
can). A fresh window must fit the laptop screen with its panels fitted; after a few
edits the app quits (saving its settings) and restarts, and the restored ``Params``
(filter, "same in all channels", geometry, options, methods), layout and panels must be
the saved ones. Everything waits on conditions; nothing is timed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import XVFB_SCREEN as SCREEN

pytestmark = pytest.mark.gui
DRIVER = Path(__file__).with_name("_xvfb_app.py")
ROOT = Path(__file__).resolve().parents[1]
_RUN_TIMEOUT = 600  # seconds for one run of the app (2 shared cores, cold imports)


def _run(display: str, home: Path, phase: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QT_")}
    env.update(
        DISPLAY=display,
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_RUNTIME_DIR=str(home),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    report = home / f"{phase}.json"
    done = subprocess.run(
        [sys.executable, str(DRIVER), phase, str(report)],
        env=env,
        capture_output=True,
        text=True,
        timeout=_RUN_TIMEOUT,
        check=False,
    )
    assert report.is_file(), f"no report (exit {done.returncode}):\n{done.stderr[-3000:]}"
    data = json.loads(report.read_text())
    assert "error" not in data, data["error"]
    assert done.returncode == 0, done.stderr[-3000:]
    return data


def _inside(rect, outer) -> bool:
    x, y, w, h = rect
    ox, oy, ow, oh = outer
    return x >= ox and y >= oy and x + w <= ox + ow and y + h <= oy + oh


@pytest.fixture(scope="module")
def runs(display, tmp_path_factory):
    """Two runs with one settings folder: fresh + edits + quit, then restart."""
    home = tmp_path_factory.mktemp("home")
    first = _run(display, home, "first")
    second = _run(display, home, "second")
    return first, second


def test_a_fresh_window_fits_the_laptop_screen_with_its_panels_fitted(runs):
    first, _ = runs
    assert first["screen"] == [0, 0, *SCREEN]
    assert _inside(first["frame"], first["available"]), first
    if first["x_frame"] is not None:  # the X server's view of the same frame
        assert _inside(first["x_frame"], [0, 0, *SCREEN]), first
    assert first["minimum_width"] <= SCREEN[0]
    assert first["fitted"] and all(first["fitted"].values()), first["fitted"]


def test_a_restart_restores_the_saved_params_exactly(runs):
    first, second = runs
    saved, restored = first["params"], second["params"]
    assert restored.keys() == saved.keys()
    for key in saved:
        if key == "weights":
            np.testing.assert_array_equal(np.asarray(restored[key]), np.asarray(saved[key]))
        else:
            assert restored[key] == saved[key], key
    weights = np.asarray(saved["weights"])
    assert not np.allclose(weights[:, :, 0], weights[:, :, 1])  # the channels differ
    assert first["same_in_all"] is False and second["same_in_all"] is False
    for key in ("layout", "insight_panels", "image"):
        assert second[key] == first[key], key


def test_the_restored_window_fits_and_is_fitted(runs):
    _, second = runs
    assert _inside(second["frame"], second["available"]), second
    assert all(second["fitted"].values()), second["fitted"]
