"""Converting a ``QImage`` (clipboard, drag-and-drop) to a numpy array."""

from __future__ import annotations

import numpy as np
from qtpy import QtGui

__all__ = ["qimage_to_array"]


def qimage_to_array(image: QtGui.QImage) -> np.ndarray:
    """Return the pixels as ``uint8`` ``(H, W, 3)``, or ``(H, W, 4)`` when there is alpha.

    Raises
    ------
    ValueError
        If the image is null or empty.
    """
    if image is None or image.isNull() or image.width() == 0 or image.height() == 0:
        raise ValueError("the clipboard or drop holds no image")
    has_alpha = image.hasAlphaChannel()
    converted = image.convertToFormat(QtGui.QImage.Format.Format_RGBA8888)
    height, width = converted.height(), converted.width()
    stride = converted.bytesPerLine()
    pointer = converted.constBits()
    pointer.setsize(height * stride)
    rows = np.frombuffer(pointer, dtype=np.uint8).reshape(height, stride)
    pixels = rows[:, : width * 4].reshape(height, width, 4).copy()
    return pixels if has_alpha else pixels[:, :, :3].copy()
