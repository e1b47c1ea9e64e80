"""The look of the window: a light control dock next to dark image panels."""

from __future__ import annotations

from PyQt5 import QtWidgets

__all__ = ["STYLE_SHEET", "apply_style"]

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
