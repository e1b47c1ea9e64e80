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
    bits = converted.constBits()
    if bits is None:
        raise ValueError("the clipboard or drop holds no image")
    if hasattr(bits, "setsize"):  # PyQt's sip.voidptr; PySide gives a sized memoryview
        bits.setsize(height * stride)
    # the stubs' voidptr does not declare the buffer protocol it has
    rows = np.frombuffer(bits, dtype=np.uint8).reshape(height, stride)  # type: ignore[call-overload]
    pixels = rows[:, : width * 4].reshape(height, width, 4).copy()
    return pixels if has_alpha else pixels[:, :, :3].copy()
