"""The look of the window: a light control dock next to dark image panels."""

from __future__ import annotations

from qtpy import QtGui, QtWidgets

from ...core.resources import resources_root
from ...view.theme import THEMES
from .theme import current_theme, follow_theme

__all__ = ["STYLE_SHEET", "app_icon", "apply_style", "style_sheet", "window_rgb"]

#: The panels' dark frames (the network's panels too: their light shape text was
#: written for them); the status read-out in a fixed-width font; dialog buttons
#: as plain words, as the app's own Close and Export… buttons (the desktop's icon theme
#: gave Cancel an icon and "Use layer" none, side by side). The message bar's colours
#: are the theme's (:func:`style_sheet`).
_STYLE_TEMPLATE = """
QFrame[objectName^="panel_"], QFrame[objectName^="network_panel_"] {{
    background: #1d2024;
    border: 1px solid #30343a;
    border-radius: 3px;
}}
QFrame[objectName^="panel_"] QLabel, QFrame[objectName^="network_panel_"] QLabel {{
    color: #e8e8e8; background: transparent;
}}
QFrame[objectName^="panel_"] QLabel#subtitle,
QFrame[objectName^="network_panel_"] QLabel#subtitle {{ color: #a9b0ba; font-size: 8pt; }}
QWidget#metrics QTableWidget, QWidget#metrics QHeaderView {{ font-size: 8pt; }}
QWidget#metrics QLabel {{ font-size: 8pt; }}
QLabel#messageBar {{
    background: {message_back}; color: {message_text}; border: 1px solid {message_border};
    border-radius: 3px; padding: 4px 8px;
}}
QLabel#messageBar[level="info"] {{
    background: {message_info_back}; color: {message_info_text};
    border: 1px solid {message_info_border};
}}
QLabel#readout {{ font-family: "DejaVu Sans Mono", monospace; padding-right: 16px; }}
QDialogButtonBox {{ dialogbuttonbox-buttons-have-icons: 0; }}
"""


def style_sheet(theme: dict[str, str]) -> str:
    """The application style sheet in ``theme``'s colours."""
    return _STYLE_TEMPLATE.format(**theme)


#: The application style sheet on a light palette.
STYLE_SHEET = style_sheet(THEMES["light"])


def apply_style(app: QtWidgets.QApplication) -> None:
    """Use the Fusion style and the panel style sheet, in the palette's colours from now
    on (a palette changed at runtime changes the style sheet too)."""
    app.setStyle("Fusion")
    if not app.property(_FOLLOWED):  # once per application, however often it is styled
        app.setProperty(_FOLLOWED, True)
        follow_theme(app, lambda theme: _set_app_sheet(app, style_sheet(theme)))
    else:
        _set_app_sheet(app, style_sheet(current_theme()))
    app.setWindowIcon(app_icon())


_FOLLOWED = "deconvThemeFollowed"


def _set_app_sheet(app: QtWidgets.QApplication, sheet: str) -> None:
    if app.styleSheet() != sheet:  # setting it re-polishes every widget
        app.setStyleSheet(sheet)


def app_icon() -> QtGui.QIcon:
    """The application icon: a signed 3×3 filter on a dark panel, one PNG per size.

    The PNGs in ``resources/icons`` are rendered from the icon's SVG by
    ``scripts/make_icons.py``; they are read as bytes, so a zipped install works too.
    """
    icon = QtGui.QIcon()
    for item in resources_root().joinpath("icons").iterdir():
        if item.name.startswith("deconv-gui-") and item.name.endswith(".png"):
            pixmap = QtGui.QPixmap()
            if pixmap.loadFromData(item.read_bytes(), "PNG"):
                icon.addPixmap(pixmap)
    return icon


def window_rgb(widget: QtWidgets.QWidget) -> tuple[int, int, int]:
    """The RGB of ``widget``'s background (its palette's window colour, light or dark)."""
    colour = widget.palette().color(QtGui.QPalette.ColorRole.Window)
    return colour.red(), colour.green(), colour.blue()
