"""Every panel shows the whole image, letterboxed, on a real 1280×800 X screen.

The real app (in a subprocess, ``_xvfb_panels.py``) opens a small non-square image with
a one-pixel white border through the identity filter, so that every panel draws the
image itself; for each layout, set of panels, dock state and window size it grabs the
screen. Read from the grab, each panel's view must hold the whole border, as a closed
rectangle with the image's aspect ratio. Skipped without Xvfb (see ``conftest.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import home_environment

pytestmark = pytest.mark.gui
DRIVER = Path(__file__).with_name("_xvfb_panels.py")
ROOT = Path(__file__).resolve().parents[1]
SHAPE = (24, 40)  # rows, columns: wider than tall
#: Panels that do not draw the image itself here (Aᵀ1 is flat; nothing is lost or invented)
NOT_THE_IMAGE = ("coverage", "nullspace", "invented")
_RUN_TIMEOUT = 900  # seconds for the whole run (2 shared cores, cold imports)

#: transposed always; + pinv (the default); + normalised and x ≥ 0; all six reconstructions
_METHODS = {
    3: ["transposed"],
    4: ["transposed", "pinv"],
    6: ["transposed", "normalized_transposed", "pinv", "nonneg"],
    8: ["transposed", "normalized_transposed", "pinv", "tv", "nonneg", "richardson_lucy"],
}
CASES = [
    *({"layout": layout, "methods": _METHODS[n]} for layout in ("grid", "row") for n in _METHODS),
    {"layout": "grid", "methods": _METHODS[4], "insight": True},  # a third row
    {"layout": "row", "methods": _METHODS[4], "insight": False, "dock": False},
    {"layout": "grid", "methods": _METHODS[6], "dock": True, "size": [900, 600]},
    {"layout": "row", "methods": _METHODS[3], "size": [760, 520]},
]


def _border_image() -> np.ndarray:
    image = np.zeros(SHAPE)
    image[0, :] = image[-1, :] = image[:, 0] = image[:, -1] = 1.0
    image[8:16, 12:28] = 0.5  # something inside, to tell the image from its frame
    return image


@pytest.fixture(scope="module")
def grabs(display, tmp_path_factory):
    folder = tmp_path_factory.mktemp("panels")
    np.save(folder / "border.npy", _border_image())
    (folder / "cases.json").write_text(json.dumps(CASES))
    env = {k: v for k, v in os.environ.items() if not k.startswith("QT_")}
    env.update(home_environment(folder / "home"), DISPLAY=display)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, str(DRIVER), *(str(folder / n) for n in ("", "cases.json", "border.npy"))],
        env=env,
        capture_output=True,
        text=True,
        timeout=_RUN_TIMEOUT,
        check=False,
    )
    report = folder / "report.json"
    assert report.is_file(), f"no report (exit {done.returncode}):\n{done.stderr[-3000:]}"
    data = json.loads(report.read_text())
    assert "error" not in data, data["error"]
    return folder, data["cases"]


def _runs(line: np.ndarray) -> int:
    """The length of the longest run of True in ``line``."""
    best = current = 0
    for value in line:
        current = current + 1 if value else 0
        best = max(best, current)
    return best


def whole_border(view: np.ndarray) -> str | None:
    """Why ``view`` (RGB pixels of one panel's view) does not show the whole border, or None.

    The border is the white frame of the image: the bounding box of the white pixels must
    be closed on its four sides and have the image's aspect ratio (to a screen pixel).
    """
    white = np.all(view >= 235, axis=2)
    rows, cols = np.nonzero(white)
    if rows.size == 0:
        return "no image"
    top, bottom, left, right = rows.min(), rows.max(), cols.min(), cols.max()
    height, width = bottom - top + 1, right - left + 1
    sides = {
        "top": white[top, left : right + 1],
        "bottom": white[bottom, left : right + 1],
        "left": white[top : bottom + 1, left],
        "right": white[top : bottom + 1, right],
    }
    for side, line in sides.items():
        if _runs(line) < 0.97 * line.size:
            return f"the {side} side is not whole ({_runs(line)} of {line.size} px)"
    # each side as thick as one image pixel on screen: none is cut (partly) away
    scale = height / SHAPE[0]
    middle_row, middle_col = (top + bottom) // 2, (left + right) // 2
    thickness = {
        "top": _runs(white[top : bottom + 1, middle_col]),
        "bottom": _runs(white[top : bottom + 1, middle_col][::-1]),
        "left": _runs(white[middle_row, left : right + 1]),
        "right": _runs(white[middle_row, left : right + 1][::-1]),
    }
    for side, pixels in thickness.items():
        if abs(pixels - scale) > 1.5:
            return f"the {side} side is {pixels} px thick, expected {scale:.1f}"
    # a pixel-edge rounding at each end of each side, no more
    aspect = SHAPE[1] / SHAPE[0]
    if abs(width / height - aspect) > aspect * (2.5 / width + 2.5 / height):
        return f"aspect {width}×{height} px, expected {height * aspect:.0f}×{height}"
    if width < 2 * SHAPE[1] / 2 or min(view.shape[0] - height, view.shape[1] - width) < -1:
        return f"too small to read: {width}×{height} px"
    return None


@pytest.mark.parametrize("number", range(len(CASES)))
def test_every_panel_shows_the_whole_image(grabs, number):
    folder, cases = grabs
    record = cases[number]
    shot = np.load(folder / f"case{number}.npy")
    expected = 2 + len(record["case"]["methods"]) + (4 if record["case"].get("insight") else 0)
    assert len(record["panels"]) == expected, record["panels"].keys()
    problems = {}
    for name, panel in record["panels"].items():
        assert tuple(panel["shape"][:2]) == SHAPE, name
        if name in NOT_THE_IMAGE:
            continue
        x, y, w, h = panel["view"]
        reason = whole_border(shot[y : y + h, x : x + w])
        if reason is not None:
            problems[name] = f"{reason} (view {w}×{h} px)"
    assert not problems, (record["case"], problems)
