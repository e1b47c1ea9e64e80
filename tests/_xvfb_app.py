"""Drive the real app (``deconv_gui.app.main``) on a real X display; used by ``test_gui_xvfb.py``.

Usage: ``python _xvfb_app.py PHASE REPORT.json``. The application starts exactly as
``deconv-gui`` does (its settings in ``$XDG_CONFIG_HOME``); a timer then waits for the
first result, records the window's geometry (as Qt and as ``xwininfo`` see it) and
whether the panels are fitted, and in phase ``first`` makes a fixed set of edits. Then
it records the window's Params and closes the window, which saves the settings, as a
user quitting would. Phase ``second`` only records what was restored.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import traceback

from qtpy import QtCore, QtWidgets

_TIMEOUT_MS = 120_000


def _rect(rect: QtCore.QRect) -> list[int]:
    return [rect.x(), rect.y(), rect.width(), rect.height()]


def _wait_until(condition, timeout_ms: int = _TIMEOUT_MS) -> bool:
    clock = QtCore.QElapsedTimer()
    clock.start()
    while not condition():
        if clock.elapsed() > timeout_ms:
            return False
        QtWidgets.QApplication.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 20)
    return True


def _idle(window) -> bool:
    return window.result is not None and window.live.idle and window.live._drawing is None


def _fitted(panel) -> bool:
    """The image is wholly inside its view and spans it along one axis (aspect locked)."""
    (x0, x1), (y0, y1) = panel.view.viewRange()
    h, w = panel.data.shape[:2]
    return x0 <= 0 and y0 <= 0 and x1 >= w and y1 >= h and min((x1 - x0) / w, (y1 - y0) / h) < 1.1


def _xwininfo(window) -> list[int] | None:
    """The window's frame as the X server sees it: ``[x, y, width, height]``, or None."""
    if shutil.which("xwininfo") is None:
        return None
    out = subprocess.run(
        ["xwininfo", "-frame", "-id", str(int(window.winId()))],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    ).stdout
    values = {}
    for key in ("Absolute upper-left X", "Absolute upper-left Y", "Width", "Height"):
        match = re.search(rf"{key}:\s+(-?\d+)", out)
        if match is None:
            return None
        values[key] = int(match.group(1))
    # -frame reports the client's position; the frame extends by the WM's borders
    extents = re.search(
        r"Relative upper-left X:\s+(-?\d+).*?Relative upper-left Y:\s+(-?\d+)", out, re.S
    )
    dx, dy = (int(extents.group(1)), int(extents.group(2))) if extents else (0, 0)
    x, y = values["Absolute upper-left X"] - dx, values["Absolute upper-left Y"] - dy
    return [x, y, values["Width"] + 2 * dx, values["Height"] + dx + dy]


def _edits(window) -> None:
    """What a user does in a minute: a seeded filter per channel, geometry, options, panels."""
    editor = window.filter_editor
    editor.findChild(QtWidgets.QCheckBox, "same").setChecked(False)  # R, G, B differ
    editor.set_preset("random", seed=11)
    editor.set_weight(0, 0, 0, 0.625)  # R[0, 0] only
    window.geometry_editor.set_values(stride=(3, 2), padding=(1, 0), dilation=(1, 2))
    window.recon_options.set_values(
        reg=0.0025,
        noise_sigma=0.02,
        noise_seed=4242,
        max_iter=150,
        methods=("transposed", "normalized_transposed", "pinv"),
    )
    window.insight.panels_action.trigger()  # Ctrl+I: the lost-information panels
    window.menu_actions.layout_row.trigger()


def _report(window, phase: str) -> dict:
    screen = window.windowHandle().screen()
    # a window manager reparents the window and reports its frame asynchronously
    _wait_until(lambda: window.frameGeometry() != window.geometry(), 3000)
    # ... and the window moves itself when that frame sticks out of the screen
    _wait_until(lambda: screen.availableGeometry().contains(window.frameGeometry()), 3000)
    names = window.panels.visible_names()
    _wait_until(lambda: all(_fitted(window.panels.panel(n)) for n in names), 20_000)
    report = {
        "phase": phase,
        "frame": _rect(window.frameGeometry()),
        "geometry": _rect(window.geometry()),
        "available": _rect(screen.availableGeometry()),
        "screen": _rect(screen.geometry()),
        "minimum_width": window.minimumSizeHint().width(),
        "x_frame": _xwininfo(window),
        "fitted": {n: _fitted(window.panels.panel(n)) for n in names},
    }
    if phase == "first":
        _edits(window)
        if not _wait_until(lambda: window.result.nullspace is not None and _idle(window)):
            raise RuntimeError("no result after the edits")
    report["params"] = window.current_params().to_dict()
    report["same_in_all"] = window.filter_editor.same_in_all_channels()
    report["layout"] = window.panels.layout_mode
    report["insight_panels"] = window.insight.panels_action.isChecked()
    report["image"] = window.loaded.source
    return report


def main() -> int:
    phase, out = sys.argv[1], sys.argv[2]
    app = QtWidgets.QApplication([sys.argv[0]])
    from deconv_gui import app as entry

    def drive() -> None:
        windows = [
            w
            for w in QtWidgets.QApplication.topLevelWidgets()
            if type(w).__name__ == "MainWindow" and w.isVisible()
        ]
        if not windows:  # main() has not shown it yet
            QtCore.QTimer.singleShot(100, drive)
            return
        window = windows[0]
        try:
            if not _wait_until(lambda: _idle(window)):
                raise RuntimeError("no first result")
            report = _report(window, phase)
        except Exception:
            report = {"error": traceback.format_exc()}
        with open(out, "w", encoding="utf-8") as handle:
            json.dump(report, handle)
        window.close()  # saves the settings, as quitting does

    QtCore.QTimer.singleShot(0, drive)
    code = entry.main([])
    del app
    return code


if __name__ == "__main__":
    raise SystemExit(main())
