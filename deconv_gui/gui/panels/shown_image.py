"""An image item that averages the pixels each screen pixel covers when drawn smaller.

pyqtgraph draws its image with the painter's nearest-pixel scaling: a picture shown
smaller than its pixels keeps one pixel of every run and drops the others, so a fine
pattern (the period-2 checkerboard a stride-2 layer leaves) beats with the screen grid
into coarse blocks that are not in the data. :class:`ShownImage` draws a shrunk image
from Qt's area-averaging scale instead, the mean of what each screen pixel covers; drawn
at its pixels' size or larger it stays nearest-pixel, so a zoomed image shows crisp
pixels. Its ``qimage`` stays one pixel per data pixel (what an export reads).
"""

from __future__ import annotations

import math
from typing import Any

import pyqtgraph as pg
from qtpy import QtCore, QtGui

__all__ = ["ShownImage"]


class ShownImage(pg.ImageItem):
    """A row-major :class:`pyqtgraph.ImageItem` averaged when shown smaller than its pixels."""

    def __init__(self) -> None:
        super().__init__(axisOrder="row-major")
        self._shrunk: tuple[tuple[int, QtCore.QSize], QtGui.QImage] | None = None

    def render(self, *args: Any, **kwargs: Any) -> None:
        self._shrunk = None  # a new picture of the data: shrink it anew
        super().render(*args, **kwargs)

    def paint(self, painter: QtGui.QPainter, *args: Any) -> None:
        t = painter.transform()
        sx, sy = math.hypot(t.m11(), t.m12()), math.hypot(t.m21(), t.m22())
        if self.image is None or self.paintMode is not None or (sx >= 1 and sy >= 1):
            super().paint(painter, *args)
            return
        if self._renderRequired:
            self.render()
            if self._unrenderable:
                return
        qimage = self.qimage
        if qimage is None or qimage.isNull():
            return
        width, height = qimage.width(), qimage.height()
        size = QtCore.QSize(max(1, round(width * sx)), max(1, round(height * sy)))
        key = (qimage.cacheKey(), size)
        if self._shrunk is None or self._shrunk[0] != key:
            mode = QtCore.Qt.TransformationMode.SmoothTransformation
            aspect = QtCore.Qt.AspectRatioMode.IgnoreAspectRatio
            self._shrunk = (key, qimage.scaled(size, aspect, mode))
        painter.drawImage(QtCore.QRectF(0, 0, width, height), self._shrunk[1])
        if self.border is not None:
            painter.setPen(self.border)
            painter.drawRect(self.boundingRect())
