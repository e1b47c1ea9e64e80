"""The comparison figure of an export: the displayed panels side by side, PNG and SVG.

Up to six panels make one row; more wrap into rows filled evenly
(:func:`~deconv_gui.view.arrangement.figure_columns`). One painter draws both files:
every column as wide as the others, each title and each
caption (the stated scaling) wrapped and centred within its column, the pictures
letterboxed in boxes of one size, their pixels kept sharp (scaled by whole numbers,
never smoothed). Titles and captions are plain text: "blue < 0 < red" is what is
written, not the start of a tag.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from qtpy import QtCore, QtGui, QtSvg

from ...view.arrangement import figure_columns

__all__ = ["FIGURE_NAMES", "comparison_figure"]

#: The file names of the comparison figure in an export folder.
FIGURE_NAMES: tuple[str, str] = ("figure.png", "figure.svg")
_PANEL_WIDTH = 340  # pixels per column
_MARGIN, _GUTTER, _SPACE = 14, 18, 8
_TITLE_PX, _CAPTION_PX = 15, 12
_WRAP = (
    QtCore.Qt.AlignmentFlag.AlignHCenter
    | QtCore.Qt.AlignmentFlag.AlignTop
    | QtCore.Qt.TextFlag.TextWordWrap
)


@dataclass(frozen=True)
class _Plan:
    """Where everything goes: sizes in pixels, the scaled pictures."""

    width: int
    height: int
    column: int
    columns: int
    box_height: int
    title_height: int
    caption_height: int
    pictures: list[QtGui.QImage]


def _font(pixels: int, bold: bool = False) -> QtGui.QFont:
    font = QtGui.QFont()
    font.setPixelSize(pixels)
    font.setBold(bold)
    return font


def _text_height(text: str, font: QtGui.QFont, width: int) -> int:
    metrics = QtGui.QFontMetrics(font)
    return metrics.boundingRect(QtCore.QRect(0, 0, width, 100_000), int(_WRAP), text).height()


def _qimage(pixels: np.ndarray) -> QtGui.QImage:
    rgb = np.ascontiguousarray(np.asarray(pixels, dtype=np.uint8)[:, :, :3])
    height, width = rgb.shape[:2]
    data = rgb.tobytes()
    image = QtGui.QImage(data, width, height, 3 * width, QtGui.QImage.Format.Format_RGB888)
    return image.copy()  # owns its pixels: ``data`` may go


def _fitted(image: QtGui.QImage, width: int, height: int) -> QtGui.QImage:
    """``image`` at the largest size that fits ``width × height``, pixels kept square and sharp."""
    scale = min(width / image.width(), height / image.height())
    if scale >= 1:
        scale = float(int(scale))  # whole numbers: every pixel the same size
    size = QtCore.QSize(max(1, round(image.width() * scale)), max(1, round(image.height() * scale)))
    return image.scaled(
        size,
        QtCore.Qt.AspectRatioMode.IgnoreAspectRatio,
        QtCore.Qt.TransformationMode.FastTransformation,
    )


def _plan(pictures: Sequence[tuple[str, str, np.ndarray]], column: int) -> _Plan:
    aspect = max(p.shape[0] / max(p.shape[1], 1) for _, _, p in pictures)
    box_height = round(column * min(max(aspect, 0.25), 2.0))
    title_font, caption_font = _font(_TITLE_PX, bold=True), _font(_CAPTION_PX)
    title_height = max(_text_height(t, title_font, column) for t, _, _ in pictures)
    caption_height = max(_text_height(c, caption_font, column) for _, c, _ in pictures)
    columns = figure_columns(len(pictures))
    rows = -(-len(pictures) // columns)
    width = 2 * _MARGIN + columns * column + (columns - 1) * _GUTTER
    row_height = title_height + box_height + caption_height + 2 * _SPACE
    height = 2 * _MARGIN + rows * row_height + (rows - 1) * _GUTTER
    scaled = [_fitted(_qimage(p), column, box_height) for _, _, p in pictures]
    return _Plan(width, height, column, columns, box_height, title_height, caption_height, scaled)


def _paint(device: QtGui.QPaintDevice, plan: _Plan, texts: Sequence[tuple[str, str]]) -> None:
    """Draw the figure on ``device`` (the PNG's image or the SVG's generator)."""
    painter = QtGui.QPainter(device)
    try:
        _paint_columns(painter, plan, texts)
    finally:
        painter.end()


def _paint_columns(painter: QtGui.QPainter, plan: _Plan, texts: Sequence[tuple[str, str]]) -> None:
    painter.fillRect(QtCore.QRect(0, 0, plan.width, plan.height), QtGui.QColor("white"))
    painter.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform, False)
    painter.setRenderHint(QtGui.QPainter.RenderHint.TextAntialiasing, True)
    row_height = plan.title_height + plan.box_height + plan.caption_height + 2 * _SPACE
    for n, ((title, caption), image) in enumerate(zip(texts, plan.pictures, strict=True)):
        row, col = divmod(n, plan.columns)
        left = _MARGIN + col * (plan.column + _GUTTER)
        top = _MARGIN + row * (row_height + _GUTTER)
        box_top = top + plan.title_height + _SPACE
        caption_top = box_top + plan.box_height + _SPACE
        painter.setFont(_font(_TITLE_PX, bold=True))
        painter.setPen(QtGui.QColor("#111111"))
        painter.drawText(QtCore.QRect(left, top, plan.column, plan.title_height), int(_WRAP), title)
        x = left + (plan.column - image.width()) // 2
        y = box_top + (plan.box_height - image.height()) // 2
        painter.drawImage(QtCore.QPoint(x, y), image)
        painter.setFont(_font(_CAPTION_PX))
        painter.setPen(QtGui.QColor("#444444"))
        rect = QtCore.QRect(left, caption_top, plan.column, plan.caption_height)
        painter.drawText(rect, int(_WRAP), caption)


def _png(plan: _Plan, texts: Sequence[tuple[str, str]]) -> bytes:
    image = QtGui.QImage(plan.width, plan.height, QtGui.QImage.Format.Format_RGB32)
    _paint(image, plan, texts)
    data = QtCore.QByteArray()
    buffer = QtCore.QBuffer(data)
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise ValueError("could not encode the figure as PNG")
    buffer.close()
    return bytes(data)


def _svg(plan: _Plan, texts: Sequence[tuple[str, str]]) -> bytes:
    data = QtCore.QByteArray()
    buffer = QtCore.QBuffer(data)
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    generator = QtSvg.QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setSize(QtCore.QSize(plan.width, plan.height))
    generator.setViewBox(QtCore.QRect(0, 0, plan.width, plan.height))
    generator.setTitle("Deconvolution Explorer: the panels side by side")
    _paint(generator, plan, texts)
    buffer.close()
    if data.isEmpty():
        raise ValueError("could not write the figure as SVG")
    return bytes(data)


def comparison_figure(
    pictures: Sequence[tuple[str, str, np.ndarray]], *, panel_width: int = _PANEL_WIDTH
) -> dict[str, bytes]:
    """The panels side by side, more than six in rows: ``{"figure.png": …, "figure.svg": …}``.

    Parameters
    ----------
    pictures : sequence of (title, note, pixels)
        One entry per panel: its title, the note under it (the stated scaling), both
        plain text, and its displayed ``(H, W, 3)`` uint8 pixels.
    panel_width : int
        Width of every column, in pixels (the height follows the tallest picture).

    Raises
    ------
    ValueError
        When ``pictures`` is empty or a file cannot be encoded.
    """
    if not pictures:
        raise ValueError("pictures must hold at least one panel")
    plan = _plan(pictures, int(panel_width))
    texts = [(title, note) for title, note, _ in pictures]
    return {FIGURE_NAMES[0]: _png(plan, texts), FIGURE_NAMES[1]: _svg(plan, texts)}
