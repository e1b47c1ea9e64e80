"""Drive the real app on a real X display and grab the screen; used by ``test_gui_xvfb_panels.py``.

Usage: ``python _xvfb_panels.py REPORT_FOLDER CASES.json IMAGE.npy``. The app starts as
``deconv-gui IMAGE --filter identity --stride 1 --padding 1`` (every panel then shows
the image itself). For each case (a layout, the methods, the Insight panels, the dock,
the window's size) it applies the change as the menus do, waits for the result and for
the screen to stop changing, grabs the whole screen (``caseN.npy``, RGB) and records
where each visible panel's image view is on it (``report.json``). The test reads the
pictures; nothing here decides what is right.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

import numpy as np
from qtpy import QtCore, QtWidgets

_TIMEOUT_MS = 120_000
_ARGS = ["--filter", "identity", "--stride", "1", "--padding", "1"]


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


def _grab(window) -> np.ndarray:
    from deconv_gui.gui.support.qimage import qimage_to_array

    return qimage_to_array(window.screen().grabWindow(0).toImage())[:, :, :3]


def _steady_grab(window) -> np.ndarray:
    """The screen once two grabs, a few event-loop passes apart, are the same."""
    previous = None
    for _ in range(200):
        _wait_until(lambda: _idle(window))
        for _ in range(10):  # queued refits, layout passes, repaints
            QtWidgets.QApplication.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 20)
        shot = _grab(window)
        if previous is not None and np.array_equal(shot, previous):
            return shot
        previous = shot
    raise RuntimeError("the screen never stopped changing")


def _view_rect(panel) -> list[int]:
    """The panel's image view on the screen: ``[x, y, width, height]`` in screen pixels."""
    scene_rect = panel.view.sceneBoundingRect()
    local = panel.graphics.mapFromScene(scene_rect).boundingRect()
    corner = panel.graphics.mapToGlobal(local.topLeft())
    return [corner.x(), corner.y(), local.width(), local.height()]


def _apply(window, case: dict) -> None:
    if "size" in case:
        window.showNormal()
        window.resize(*case["size"])
    if "layout" in case:
        getattr(window.menu_actions, f"layout_{case['layout']}").trigger()
    if "methods" in case:
        window.recon_options.set_values(methods=tuple(case["methods"]))
    if "insight" in case:
        window.insight.set_panels_visible(case["insight"])
    if "dock" in case:
        window.controls_dock.setVisible(case["dock"])


def _run_cases(window, folder: Path, cases: list[dict]) -> list[dict]:
    if not _wait_until(lambda: _idle(window)):
        raise RuntimeError("no first result")
    window.showMaximized()
    records = []
    for number, case in enumerate(cases):
        _apply(window, case)
        shot = _steady_grab(window)
        np.save(folder / f"case{number}.npy", shot)
        panels = window.panels
        records.append(
            {
                "case": case,
                "window": [window.width(), window.height()],
                "panels": {
                    name: {
                        "view": _view_rect(panels.panel(name)),
                        "shape": panels.panel(name).shape,
                    }
                    for name in panels.visible_names()
                },
            }
        )
    return records


def main() -> int:
    folder, cases, image = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text()), sys.argv[3]
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
        try:
            report = {"cases": _run_cases(windows[0], folder, cases)}
        except Exception:
            report = {"error": traceback.format_exc()}
        (folder / "report.json").write_text(json.dumps(report), encoding="utf-8")
        windows[0].close()

    QtCore.QTimer.singleShot(0, drive)
    code = entry.main([image, *_ARGS])
    del app
    return code


if __name__ == "__main__":
    raise SystemExit(main())
