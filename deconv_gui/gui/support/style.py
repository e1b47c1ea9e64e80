"""The look of the window: a light control dock next to dark image panels."""

from __future__ import annotations

from PyQt5 import QtCore, QtGui, QtWidgets

__all__ = ["STYLE_SHEET", "app_icon", "apply_style"]

STYLE_SHEET = """
QFrame[objectName^="panel_"] {
    background: #1d2024;
    border: 1px solid #30343a;
    border-radius: 3px;
}
QFrame[objectName^="panel_"] QLabel { color: #e8e8e8; background: transparent; }
QFrame[objectName^="panel_"] QLabel#subtitle { color: #a9b0ba; font-size: 8pt; }
QWidget#metrics QTableWidget, QWidget#metrics QHeaderView { font-size: 8pt; }
QWidget#metrics QLabel { font-size: 8pt; }
QLabel#messageBar {
    background: #fbe3e1; color: #7a1c12; border: 1px solid #e6a49b;
    border-radius: 3px; padding: 4px 8px;
}
QLabel#messageBar[level="info"] {
    background: #e6f0fb; color: #17406d; border: 1px solid #9fbfe6;
}
QLabel#readout { font-family: "DejaVu Sans Mono", monospace; padding-right: 16px; }
"""


def apply_style(app: QtWidgets.QApplication) -> None:
    """Use the Fusion style and the panel style sheet."""
    app.setStyle("Fusion")
    app.setStyleSheet(STYLE_SHEET)
    app.setWindowIcon(app_icon())


#: The icon's 3×3 kernel, as signed weights drawn blue (< 0) to red (> 0).
_ICON_KERNEL = ((-1.0, 0.0, 1.0), (-0.5, 1.0, 0.5), (0.0, 0.5, -0.5))


def app_icon(size: int = 64) -> QtGui.QIcon:
    """The application icon, drawn in code: a 3×3 filter on a dark image panel."""
    pixmap = QtGui.QPixmap(size, size)
    pixmap.fill(QtCore.Qt.transparent)
    painter = QtGui.QPainter(pixmap)
    painter.setRenderHint(QtGui.QPainter.Antialiasing)
    painter.setBrush(QtGui.QColor("#1d2024"))
    painter.setPen(QtCore.Qt.NoPen)
    painter.drawRoundedRect(0, 0, size, size, size / 8, size / 8)
    cell, margin = size * 0.26, size * 0.11
    for row, weights in enumerate(_ICON_KERNEL):
        for col, weight in enumerate(weights):
            strength = int(235 * (1 - abs(weight)))
            colour = (
                QtGui.QColor(220, strength, strength)
                if weight >= 0
                else QtGui.QColor(strength, strength, 220)
            )
            painter.setBrush(colour)
            x, y = margin + col * cell, margin + row * cell
            painter.drawRect(QtCore.QRectF(x + 1, y + 1, cell - 2, cell - 2))
    painter.end()
    return QtGui.QIcon(pixmap)
