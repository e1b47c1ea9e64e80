"""Read what an :class:`~deconv_gui.gui.panels.grid.ImagePanel` shows.

:func:`displayed_pixels` asks the panel's pyqtgraph ``ImageItem`` to render its data
with its current levels and lookup table (colormap) and returns those RGB pixels, one
per data pixel, so an exported PNG is exactly what the user sees (without zoom); a
montage's tiles carry their channels, drawn in as the view module draws them
(:func:`~deconv_gui.view.montage.draw_tile_labels`). The comparison figure
(:mod:`.figure`) is re-exported here.
"""

from __future__ import annotations

import numpy as np

from ...view.montage import draw_tile_labels
from ..support.qimage import qimage_to_array
from .figure import FIGURE_NAMES, comparison_figure

__all__ = ["FIGURE_NAMES", "comparison_figure", "displayed_pixels", "panel_levels"]


def displayed_pixels(panel) -> np.ndarray | None:
    """The panel's picture as drawn: ``(H, W, 3)`` uint8, levels and colormap applied.

    Parameters
    ----------
    panel : ImagePanel
        A panel of the main window (only its ``item``, a pyqtgraph ``ImageItem``, is read).

    Returns
    -------
    numpy.ndarray or None
        One RGB pixel per data pixel (a montage's: per pixel of the montage, each
        tile labelled with its channel), or None when the panel shows nothing.
    """
    item = panel.item
    if item.image is None or item.image.size == 0:
        return None
    item.render()  # (re)builds item.qimage from the current image, levels and LUT
    qimage = getattr(item, "qimage", None)
    if qimage is None or qimage.isNull():
        return None
    pixels = np.ascontiguousarray(qimage_to_array(qimage)[:, :, :3])
    spec, data = panel.spec, panel.data
    if spec is not None and spec.tiles and data is not None:
        return draw_tile_labels(pixels, spec.tiles, data.shape[:2])
    return pixels


def panel_levels(panel) -> list[float] | None:
    """The levels the panel draws with, as ``[low, high]`` (None when empty)."""
    if panel.item.image is None:
        return None
    low, high = panel.histogram.getLevels()
    return [float(low), float(high)]
