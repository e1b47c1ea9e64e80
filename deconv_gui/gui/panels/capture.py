"""Read what an :class:`~deconv_gui.gui.panels.grid.ImagePanel` shows, and draw a comparison figure.

:func:`displayed_pixels` asks the panel's pyqtgraph ``ImageItem`` to render its data
with its current levels and lookup table (colormap) and returns those RGB pixels, one
per data pixel, so an exported PNG is exactly what the user sees (without zoom).
:func:`comparison_figure` lays the displayed pictures side by side, with titles and the
stated scaling, in a pyqtgraph scene and exports it with pyqtgraph's ``ImageExporter``
(PNG) and ``SVGExporter`` (SVG).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from pyqtgraph.exporters import ImageExporter, SVGExporter
from qtpy import QtCore, QtGui

from ..support.qimage import qimage_to_array

__all__ = ["FIGURE_NAMES", "comparison_figure", "displayed_pixels", "panel_levels"]

#: The file names of the comparison figure in an export folder.
FIGURE_NAMES: tuple[str, str] = ("figure.png", "figure.svg")
_FIGURE_PANEL_WIDTH = 340  # scene pixels per panel in the figure


def displayed_pixels(panel) -> np.ndarray | None:
    """The panel's picture as drawn: ``(H, W, 3)`` uint8, levels and colormap applied.

    Parameters
    ----------
    panel : ImagePanel
        A panel of the main window (only its ``item``, a pyqtgraph ``ImageItem``, is read).

    Returns
    -------
    numpy.ndarray or None
        One RGB pixel per data pixel, or None when the panel shows nothing.
    """
    item = panel.item
    if item.image is None or item.image.size == 0:
        return None
    item.render()  # (re)builds item.qimage from the current image, levels and LUT
    qimage = getattr(item, "qimage", None)
    if qimage is None or qimage.isNull():
        return None
    return np.ascontiguousarray(qimage_to_array(qimage)[:, :, :3])


def panel_levels(panel) -> list[float] | None:
    """The levels the panel draws with, as ``[low, high]`` (None when empty)."""
    if panel.item.image is None:
        return None
    low, high = panel.histogram.getLevels()
    return [float(low), float(high)]


def _png_bytes(image: QtGui.QImage) -> bytes:
    data = QtCore.QByteArray()
    buffer = QtCore.QBuffer(data)
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise ValueError("could not encode the figure as PNG")
    buffer.close()
    return bytes(data)


def comparison_figure(
    pictures: Sequence[tuple[str, str, np.ndarray]], *, panel_width: int = _FIGURE_PANEL_WIDTH
) -> dict[str, bytes]:
    """The panels side by side as ``{"figure.png": ..., "figure.svg": ...}``.

    Parameters
    ----------
    pictures : sequence of (title, note, pixels)
        One entry per panel: its title, the one-line note under it (the stated
        scaling) and its displayed ``(H, W, 3)`` uint8 pixels.
    panel_width : int
        Width of one panel in the figure, in pixels (the height follows the images).

    Returns
    -------
    dict of str to bytes
        PNG from pyqtgraph's ``ImageExporter``, SVG from its ``SVGExporter``.

    Raises
    ------
    ValueError
        When ``pictures`` is empty or an exporter fails.
    """
    if not pictures:
        raise ValueError("pictures must hold at least one panel")
    widget = pg.GraphicsLayoutWidget()
    try:
        widget.setBackground("w")
        layout = widget.ci
        layout.setContentsMargins(8, 8, 8, 8)
        aspect = max(p.shape[0] / max(p.shape[1], 1) for _, _, p in pictures)
        image_height = round(panel_width * min(max(aspect, 0.25), 2.0))
        for col, (title, note, pixels) in enumerate(pictures):
            layout.addLabel(title, row=0, col=col, color="#111111", size="11pt", bold=True)
            view = layout.addViewBox(row=1, col=col, lockAspect=True, invertY=True)
            view.setMouseEnabled(False, False)
            view.setMinimumSize(panel_width, image_height)
            view.setMaximumSize(panel_width, image_height)  # equal columns, whatever the notes
            item = pg.ImageItem(np.asarray(pixels), axisOrder="row-major", levels=(0, 255))
            view.addItem(item)
            view.setRange(QtCore.QRectF(0, 0, pixels.shape[1], pixels.shape[0]), padding=0.0)
            label = layout.addLabel(note, row=2, col=col, color="#444444", size="8pt")
            label.setMaximumWidth(panel_width)
        width = panel_width * len(pictures) + 16 + 8 * len(pictures)
        height = image_height + 90
        widget.resize(width, height)
        layout.setGeometry(QtCore.QRectF(0, 0, width, height))
        widget.scene().setSceneRect(QtCore.QRectF(0, 0, width, height))
        layout.layout.activate()
        for view in [i for i in layout.items if isinstance(i, pg.ViewBox)]:
            view.updateViewRange()
        png = ImageExporter(layout)
        png.parameters()["width"] = width
        image = png.export(toBytes=True)
        svg = SVGExporter(layout).export(toBytes=True)
    finally:
        widget.close()
        widget.deleteLater()
    if image is None or svg is None:
        raise ValueError("pyqtgraph's exporters returned nothing")
    svg_bytes = svg if isinstance(svg, bytes) else bytes(svg)
    return {FIGURE_NAMES[0]: _png_bytes(image), FIGURE_NAMES[1]: svg_bytes}
