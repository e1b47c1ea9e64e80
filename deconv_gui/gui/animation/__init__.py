"""The "How it is computed" view: step-by-step animations of the current set-up.

:func:`install_steps_view` adds View → How it is computed (and answers the geometry
editor's button): a :class:`~.window.StepsWindow` on the result on screen, and the
outline of the crop it animates in the main panels.
"""

from __future__ import annotations

from collections.abc import Callable

import pyqtgraph as pg
from qtpy import QtCore, QtGui, QtWidgets

from ...core import registry
from ..panels.grid import PanelGrid
from ..state import AppState
from ..support.qthelp import nonnull
from .jobs import StepsRequest
from .window import StepsWindow

__all__ = ["CROP_COLOUR", "StepsView", "install_steps_view"]

#: The crop's outline in the main panels (the inspector uses yellow and cyan).
CROP_COLOUR = "#ff6ec7"
_INPUT_SIZED = tuple(p.name for p in registry.PANELS if p.linked)


class StepsView(QtCore.QObject):
    """The animation window of one main window, its menu action and the crop outlines.

    Parameters
    ----------
    window : QMainWindow
        Gets the View menu action; parent of the animation window.
    state : AppState
        The result on screen.
    panels : PanelGrid
        Where the crop is outlined; a click there moves the crop.
    selection : callable
        The inspector's selection ``(panel, row, col)`` or None.
    """

    def __init__(
        self,
        window: QtWidgets.QMainWindow,
        state: AppState,
        panels: PanelGrid,
        selection: Callable[[], tuple[str, int, int] | None],
    ) -> None:
        super().__init__(window)
        self.panels = panels
        self.window = StepsWindow(state, selection, window)
        self._remember(state.settings)
        self.marks: list[tuple[pg.ViewBox, QtWidgets.QGraphicsItem]] = []
        self.window.cropChanged.connect(self.mark_crop)
        panels.clicked.connect(self._follow_click)
        self.action = QtWidgets.QAction("How it is &computed…", window)
        tip = ("Watch the convolution, its transpose or the pseudo-inverse step by step on "
               "this geometry, filter and image (Ctrl+Shift+H)")  # fmt: skip
        self.action.setToolTip(tip)
        self.action.setStatusTip(tip)
        self.action.setShortcut(QtGui.QKeySequence("Ctrl+Shift+H"))
        self.action.triggered.connect(self.open)  # type: ignore[arg-type]  # result unused
        menu = _view_menu(window)
        menu.addSeparator()
        menu.addAction(self.action)

    def _remember(self, settings: QtCore.QSettings) -> None:
        """Restore the mode, speed, crop and preconditioner last used, and keep them."""
        steps = self.window
        boxes = (("mode", steps.mode_box), ("speed", steps.speed_box))
        for key, box in boxes:
            stored = str(settings.value(f"animation/{key}", ""))  # an INI file gives text
            for index in range(box.count()):
                if _same(box.itemData(index), stored):
                    box.setCurrentIndex(index)
            box.currentIndexChanged.connect(
                lambda _i, key=key, box=box: settings.setValue(
                    f"animation/{key}", box.currentData()
                )
            )
        try:
            steps.crop_box.setValue(int(settings.value("animation/crop", steps.crop_box.value())))
        except (TypeError, ValueError):
            pass  # a hand-edited settings file: keep the default
        steps.crop_box.valueChanged.connect(lambda v: settings.setValue("animation/crop", v))
        steps.precondition_box.setChecked(
            str(settings.value("animation/preconditioned", "true")).lower() != "false"
        )
        steps.precondition_box.toggled.connect(
            lambda on: settings.setValue("animation/preconditioned", bool(on))
        )

    def _follow_click(self, *_: object) -> None:
        # the inspector (connected first) has recorded the click: move the crop there
        if self.window.isVisible():
            self.window.refresh()

    def open(self) -> StepsWindow:
        """Show the animation window (it follows the result on screen while open)."""
        self.window.show()
        self.window.raise_()
        self.window.activateWindow()
        return self.window

    def mark_crop(self, request: StepsRequest | None) -> None:
        """Outline the crop animated in the input-sized panels and its outputs in y."""
        for view, item in self.marks:
            view.removeItem(item)
        self.marks = []
        if request is None or request.crop is None:
            return
        r0, c0, h, w = request.crop
        full = request.full_geometry
        (sh, sw), (h_out, w_out, _) = full.stride, request.geometry.output_shape
        o0, p0 = r0 // sh, c0 // sw
        o1, p1 = min(o0 + h_out, full.output_shape[0]), min(p0 + w_out, full.output_shape[1])
        boxes = {name: (c0, r0, w, h) for name in _INPUT_SIZED}
        boxes["forward"] = (p0, o0, p1 - p0, o1 - o0)
        pen = pg.mkPen(CROP_COLOUR, width=2, style=QtCore.Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        for name, (x, y, width, height) in boxes.items():
            if name not in self.panels.panels:
                continue
            view = self.panels.panel(name).view
            item = QtWidgets.QGraphicsRectItem(x, y, width, height)
            item.setPen(pen)
            item.setZValue(25)
            item.setToolTip("The crop animated in the How it is computed window")
            view.addItem(item)
            self.marks.append((view, item))

    def shutdown(self) -> None:
        """Stop the animation's jobs and close its window (the main window is closing)."""
        self.window.shutdown()
        self.window.close()


def _same(data: object, stored: str) -> bool:
    """Whether a combo box's item data is the value stored as text (numbers as numbers)."""
    if isinstance(data, float):
        try:
            return float(stored) == data
        except ValueError:
            return False
    return str(data) == stored


def _view_menu(window: QtWidgets.QMainWindow) -> QtWidgets.QMenu:
    bar = nonnull(window.menuBar(), "menu bar")
    for action in bar.actions():
        menu = action.menu()
        if menu is not None and action.text().replace("&", "") == "View":
            return menu
    return nonnull(bar.addMenu("&View"))


def install_steps_view(
    window: QtWidgets.QMainWindow,
    state: AppState,
    panels: PanelGrid,
    selection: Callable[[], tuple[str, int, int] | None],
) -> StepsView:
    """Add View → How it is computed to ``window``; returns the :class:`StepsView`.

    The window stores it and calls :meth:`StepsView.shutdown` when it closes.
    """
    return StepsView(window, state, panels, selection)
