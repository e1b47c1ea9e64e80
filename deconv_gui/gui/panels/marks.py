"""What an image panel draws over its image: the values of tiny images, the inspection marks.

:class:`ValueLabels` writes each pixel's values on images of at most
:data:`ANNOTATE_LIMIT` pixels, shown only while a pixel on screen is large enough to
hold its label (side by side, labels never overlap). :class:`PixelMarks` marks the
pixels a click inspects (squares, their labels, a dashed box around them that stays
visible when the pixels are too small to see).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from qtpy import QtCore, QtGui, QtWidgets

from ...view.display import fmt

__all__ = ["ANNOTATE_LIMIT", "PixelMarks", "ValueLabels"]

#: Draw the values on the pixels of images with at most this many pixels.
ANNOTATE_LIMIT = 144


def _label_font(lines: int) -> QtGui.QFont:
    font = QtGui.QFont()
    font.setPointSize(8 if lines == 1 else 7)
    return font


class ValueLabels:
    """The values written on the pixels of a tiny image in ``view``."""

    def __init__(self, view: pg.ViewBox) -> None:
        self.view = view
        self.items: list[pg.TextItem] = []
        self._room = (1, 1)  # screen pixels a label needs (its box's margins included)

    def draw(self, data: np.ndarray | None) -> None:
        """Label every pixel of ``data`` (none for large images, more than 3 channels, None)."""
        for label in self.items:
            self.view.removeItem(label)
        self.items = []
        if data is None or data.shape[0] * data.shape[1] > ANNOTATE_LIMIT:
            return
        channels = data.shape[2] if data.ndim == 3 else 1
        if channels > 3:
            return
        font = _label_font(channels)
        metrics = QtGui.QFontMetrics(font)
        widest = 0
        for row in range(data.shape[0]):
            for col in range(data.shape[1]):
                values = np.atleast_1d(data[row, col])
                lines = [fmt(round(float(v), 2)) for v in values]
                widest = max(widest, *(metrics.horizontalAdvance(line) for line in lines))
                label = pg.TextItem(
                    "\n".join(lines), color="w", anchor=(0.5, 0.5), fill=(0, 0, 0, 150)
                )
                label.setFont(font)
                label.setPos(col + 0.5, row + 0.5)
                self.view.addItem(label)
                self.items.append(label)
        self._room = (widest + 8, metrics.lineSpacing() * channels + 6)
        self.update_visibility()

    def update_visibility(self) -> None:
        """Show the labels only while a data pixel on screen is large enough to hold one."""
        if not self.items:
            return
        units_x, units_y = self.view.viewPixelSize()  # data units per screen pixel
        width, height = self._room
        visible = 0 < units_x <= 1.0 / width and 0 < units_y <= 1.0 / height
        for label in self.items:
            label.setVisible(visible)


class PixelMarks:
    """Squares (and labels) over chosen pixels of ``view``: what a click inspects."""

    def __init__(self, view: pg.ViewBox) -> None:
        self.view = view
        self.items: list[QtWidgets.QGraphicsItem] = []
        self.pixels: tuple[np.ndarray, np.ndarray] | None = None

    def mark(
        self,
        rows: np.ndarray,
        cols: np.ndarray,
        *,
        labels: list[str] | None = None,
        color: str = "#ffd54a",
        outline: bool = True,
    ) -> None:
        """Mark pixels ``(rows[k], cols[k])`` (replacing earlier marks); see the module."""
        self.clear()
        rows, cols = np.asarray(rows, dtype=float), np.asarray(cols, dtype=float)
        self.pixels = (rows.astype(int), cols.astype(int))
        if rows.size == 0:
            return
        pen = pg.mkPen(color, width=2)
        pen.setCosmetic(True)
        squares = pg.ScatterPlotItem(
            x=cols + 0.5,
            y=rows + 0.5,
            symbol="s",
            size=0.92,
            pxMode=False,
            pen=pen,
            brush=pg.mkBrush(255, 213, 74, 50),
        )
        items: list[QtWidgets.QGraphicsItem] = [squares]
        if outline:
            box = QtWidgets.QGraphicsRectItem(
                cols.min() - 0.5, rows.min() - 0.5, np.ptp(cols) + 2, np.ptp(rows) + 2
            )
            dashed = pg.mkPen(color, width=1, style=QtCore.Qt.PenStyle.DashLine)
            dashed.setCosmetic(True)
            box.setPen(dashed)
            items.append(box)
        for k, text in enumerate(labels or []):
            label = pg.TextItem(text, color=color, anchor=(0.5, 0.5), fill=(0, 0, 0, 170))
            label.setPos(cols[k] + 0.5, rows[k] + 0.5)
            items.append(label)
        for item in items:
            item.setZValue(20)
            self.view.addItem(item)
        self.items = items

    def clear(self) -> None:
        """Remove the marks."""
        for item in self.items:
            self.view.removeItem(item)
        self.items = []
        self.pixels = None
