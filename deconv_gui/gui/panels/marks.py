"""What an image panel draws over its image: the values of tiny images, the channels of
a montage's tiles, the inspection marks.

:class:`ValueLabels` writes each pixel's values on images of at most
:data:`ANNOTATE_LIMIT` pixels, shown only while a pixel on screen is large enough to
hold its label (side by side, labels never overlap). :class:`TileLabels` writes each
montage tile's channel at its top-left corner, where the exported PNG has it
(:func:`~deconv_gui.view.montage.tile_labels`), while the tiles on screen are large
enough (:func:`~deconv_gui.view.montage.label_fits`). :class:`PixelMarks` marks the
pixels a click inspects (squares, their labels, a dashed box around them that stays
visible when the pixels are too small to see); their labels, like the values, show only
while a pixel on screen can hold one, so neighbours never overlap.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from qtpy import QtCore, QtGui, QtWidgets

from ...view.display import fmt
from ...view.montage import label_fits, tile_labels

__all__ = ["ANNOTATE_LIMIT", "PixelMarks", "TileLabels", "ValueLabels"]

#: Draw the values on the pixels of images with at most this many pixels.
ANNOTATE_LIMIT = 144


def _label_font(lines: int) -> QtGui.QFont:
    font = QtGui.QFont()
    font.setPointSize(8 if lines == 1 else 7)
    return font


def _room(texts: list[str], font: QtGui.QFont) -> tuple[int, int]:
    """Screen pixels the widest of ``texts`` (lines split at "\\n") needs, box included."""
    metrics = QtGui.QFontMetrics(font)
    lines = [line for text in texts for line in text.split("\n")] or [""]
    count = max(text.count("\n") + 1 for text in texts) if texts else 1
    widest = max(metrics.horizontalAdvance(line) for line in lines)
    return widest + 8, metrics.lineSpacing() * count + 6


def _fits(view: pg.ViewBox, room: tuple[int, int]) -> bool:
    """Whether a data pixel of ``view`` is on screen at least ``room`` (width, height) large."""
    units_x, units_y = view.viewPixelSize()  # data units per screen pixel
    return 0 < units_x <= 1.0 / room[0] and 0 < units_y <= 1.0 / room[1]


class _Overlay:
    """Items drawn over the image of ``view``, shown or hidden as the view zooms.

    Subclasses draw into :attr:`items` and say in :meth:`update_visibility` what is
    shown at the current zoom; it runs whenever the view's range or size changes.
    """

    def __init__(self, view: pg.ViewBox) -> None:
        self.view = view
        self.items: list[QtWidgets.QGraphicsItem] = []
        view.sigRangeChanged.connect(lambda *_: self.update_visibility())
        view.sigResized.connect(lambda *_: self.update_visibility())

    def update_visibility(self) -> None:
        """Show what fits at the view's current zoom (each subclass says what fits)."""
        raise NotImplementedError

    def _remove_items(self) -> None:
        """Take every item drawn off the view."""
        for item in self.items:
            self.view.removeItem(item)
        self.items = []


class ValueLabels(_Overlay):
    """The values written on the pixels of a tiny image in ``view``."""

    def __init__(self, view: pg.ViewBox) -> None:
        super().__init__(view)
        self._room = (1, 1)  # screen pixels a label needs (its box's margins included)

    def draw(self, data: np.ndarray | None) -> None:
        """Label every pixel of ``data`` (none for large images, more than 3 channels, None)."""
        self._remove_items()
        if data is None or data.shape[0] * data.shape[1] > ANNOTATE_LIMIT:
            return
        channels = data.shape[2] if data.ndim == 3 else 1
        if channels > 3:
            return
        font = _label_font(channels)
        texts = []
        for row in range(data.shape[0]):
            for col in range(data.shape[1]):
                values = np.atleast_1d(data[row, col])
                text = "\n".join(fmt(round(float(v), 2)) for v in values)
                label = pg.TextItem(text, color="w", anchor=(0.5, 0.5), fill=(0, 0, 0, 150))
                label.setFont(font)
                label.setPos(col + 0.5, row + 0.5)
                self.view.addItem(label)
                self.items.append(label)
                texts.append(text)
        self._room = _room(texts, font)
        self.update_visibility()

    def update_visibility(self) -> None:
        """Show the labels only while a data pixel on screen is large enough to hold one."""
        if not self.items:
            return
        visible = _fits(self.view, self._room)
        for label in self.items:
            label.setVisible(visible)


class TileLabels(_Overlay):
    """The channel of each tile of a montage drawn in ``view``, at the tile's corner."""

    def __init__(self, view: pg.ViewBox) -> None:
        super().__init__(view)
        self._drawn: tuple[tuple[int, ...], tuple[int, int]] | None = None
        self._room = (1, 1)  # screen pixels the widest label needs: (height, width)
        self._tile = (1, 1)  # a tile's (height, width) in image pixels
        self._opacity = 1.0

    def draw(self, tiles: tuple[int, ...], shape: tuple[int, int] | None) -> None:
        """Label the ``tiles`` of a montage of ``(H, W)`` maps (none: no montage)."""
        key = (tuple(tiles), (0, 0) if shape is None else (int(shape[0]), int(shape[1])))
        if key == self._drawn:  # the same montage again (new values): the same labels
            return
        self._remove_items()
        self._drawn = key
        if not tiles or shape is None:
            return
        font = QtGui.QFont()
        font.setPointSize(8)
        metrics = QtGui.QFontMetrics(font)
        widest = 0
        for tile in tile_labels(tiles, shape):
            label = pg.TextItem(tile.text, color="w", anchor=(0, 0), fill=(0, 0, 0, 160))
            label.setFont(font)
            label.setPos(tile.col, tile.row)
            label.setZValue(10)  # over the image, under the inspection marks
            label.setOpacity(self._opacity)
            label.setToolTip(f"channel {tile.text}")
            self.view.addItem(label)
            self.items.append(label)
            widest = max(widest, metrics.horizontalAdvance(tile.text))
        self._room = (metrics.height() + 4, widest + 6)
        self._tile = (int(shape[0]), int(shape[1]))
        self.update_visibility()

    def set_opacity(self, opacity: float) -> None:
        """Dim the labels with the image (a stale result), or show them fully again."""
        self._opacity = float(opacity)
        for label in self.items:
            label.setOpacity(self._opacity)

    def update_visibility(self) -> None:
        """Show the labels only while a tile on screen leaves room for its label."""
        if not self.items:
            return
        units_x, units_y = self.view.viewPixelSize()  # image pixels per screen pixel
        on_screen = (self._tile[0] / max(units_y, 1e-12), self._tile[1] / max(units_x, 1e-12))
        visible = units_x > 0 and units_y > 0 and label_fits(self._room, on_screen)
        for label in self.items:
            label.setVisible(visible)


class PixelMarks(_Overlay):
    """Squares (and labels) over chosen pixels of ``view``: what a click inspects."""

    def __init__(self, view: pg.ViewBox) -> None:
        super().__init__(view)
        self.labels: list[pg.TextItem] = []
        self.pixels: tuple[np.ndarray, np.ndarray] | None = None
        self._room = (1, 1)  # screen pixels the widest label needs: (width, height)

    def mark(
        self,
        rows: np.ndarray,
        cols: np.ndarray,
        *,
        labels: list[str] | None = None,
        color: str = "#ffd54a",
        outline: bool = True,
    ) -> None:
        """Mark pixels ``(rows[k], cols[k])`` (replacing earlier marks); see the module.

        A label may have several lines (one per channel, split at "\\n").
        """
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
        font = _label_font(max((t.count("\n") + 1 for t in labels or []), default=1))
        for k, text in enumerate(labels or []):
            label = pg.TextItem(text, color=color, anchor=(0.5, 0.5), fill=(0, 0, 0, 170))
            label.setFont(font)
            label.setPos(cols[k] + 0.5, rows[k] + 0.5)
            items.append(label)
            self.labels.append(label)
        for item in items:
            item.setZValue(20)
            self.view.addItem(item)
        self.items = items
        self._room = _room(list(labels or []), font)
        self.update_visibility()

    def labels_shown(self) -> bool:
        """Whether the labels are on screen (a pixel is large enough to hold one)."""
        return bool(self.labels) and all(label.isVisible() for label in self.labels)

    def update_visibility(self) -> None:
        """Show the labels only while a pixel on screen is large enough to hold one."""
        visible = _fits(self.view, self._room)
        for label in self.labels:
            label.setVisible(visible)

    def clear(self) -> None:
        """Remove the marks."""
        self._remove_items()
        self.labels = []
        self.pixels = None
