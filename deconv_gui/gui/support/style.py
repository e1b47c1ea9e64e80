"""The look of the window: a light control dock next to dark image panels."""

from __future__ import annotations

from qtpy import QtGui, QtWidgets
from qtpy.QtGui import QColor, QPalette
from qtpy.QtWidgets import QStyle

from ...core.resources import resources_root
from ...view.theme import THEMES
from .theme import current_theme, follow_theme

__all__ = [
    "INDICATOR_EDGE_SHARE",
    "STYLE_SHEET",
    "ContrastStyle",
    "app_icon",
    "apply_style",
    "indicator_edge",
    "style_sheet",
    "window_rgb",
]

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
    if not _installed:
        # once while it lasts: setStyle deletes the style it replaces (a widget or a
        # pending paint may still hold it) and re-polishes every widget
        style = ContrastStyle("Fusion")
        style.destroyed.connect(_installed.clear)  # replaced: install it again
        app.setStyle(style)
        _installed.add(True)
    if not app.property(_FOLLOWED):  # once per application, however often it is styled
        app.setProperty(_FOLLOWED, True)
        follow_theme(app, lambda theme: _set_app_sheet(app, style_sheet(theme)))
    else:
        _set_app_sheet(app, style_sheet(current_theme()))
    app.setWindowIcon(app_icon())


_FOLLOWED = "deconvThemeFollowed"
_installed: set[bool] = set()  # whether the application's style is ours (app.style() hides it)


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


#: How far from the window colour towards the text colour a radio button's or check
#: box's outline is drawn: about 5:1 against the window in the light and dark palettes
#: (WCAG asks 3:1 of a control's boundary).
INDICATOR_EDGE_SHARE = 0.6


def indicator_edge(palette: QPalette) -> QColor:
    """The outline colour of radio buttons and check boxes on ``palette``'s window."""
    back = palette.color(QPalette.ColorRole.Window)
    text = palette.color(QPalette.ColorRole.WindowText)
    share = INDICATOR_EDGE_SHARE
    return QColor(
        round(back.red() + (text.red() - back.red()) * share),
        round(back.green() + (text.green() - back.green()) * share),
        round(back.blue() + (text.blue() - back.blue()) * share),
    )


class ContrastStyle(QtWidgets.QProxyStyle):
    """Fusion, its radio buttons and check boxes outlined so they read on the window.

    Fusion outlines them in the window colour darkened: barely there on a light grey
    window (about 2:1) and lost on a dark one (about 1.2:1). Its outline is drawn from the
    option's window colour, so the indicators are drawn from a palette whose window
    darkens to :func:`indicator_edge` (the base, text and highlight colours, which fill
    and mark them, are the widget's own).
    """

    def drawPrimitive(
        self,
        element: QStyle.PrimitiveElement,
        option: QtWidgets.QStyleOption | None,
        painter: QtGui.QPainter | None,
        widget: QtWidgets.QWidget | None = None,
    ) -> None:
        if option is not None and element in _INDICATORS:
            option = _with_edge(option)
        super().drawPrimitive(element, option, painter, widget)


_INDICATORS = (
    QStyle.PrimitiveElement.PE_IndicatorRadioButton,
    QStyle.PrimitiveElement.PE_IndicatorCheckBox,
)


def _with_edge(option: QtWidgets.QStyleOption) -> QtWidgets.QStyleOption:
    """A copy of ``option`` whose window colour Fusion darkens into the indicator edge
    (by 1.4 to 1.5 times: lightened here by 1.5 first)."""
    copy = type(option)(option)
    palette = QPalette(option.palette)
    window = indicator_edge(palette).lighter(150)
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        palette.setColor(group, QPalette.ColorRole.Window, window)
    copy.palette = palette
    return copy
