"""The window's colours follow the application palette, light or dark, at runtime too.

The colours of the window's own (headings, notes, badges) come from
:data:`deconv_gui.view.theme.THEMES`, the variant chosen from the application palette's
window colour. :func:`follow_theme` applies a widget's colours now and again whenever
the application palette changes (a desktop switching to a dark theme, or
:func:`apply_palette`), so nothing keeps a light colour on a dark window.
"""

from __future__ import annotations

from collections.abc import Callable

from qtpy import QtCore, QtGui, QtWidgets

from ...core.choices import check_choice
from ...view.theme import (
    DARK_DISABLED_TEXT,
    DARK_PALETTE,
    LIGHT_DISABLED_TEXT,
    theme_colours,
    theme_name,
)

__all__ = [
    "PALETTE_CHOICES",
    "app_window_rgb",
    "apply_palette",
    "current_theme",
    "dark_palette",
    "follow_theme",
    "is_dark",
    "readable_icon",
    "set_style_sheet",
    "theme_colour",
    "theme_style",
]

#: What ``--palette`` accepts: the desktop's palette, or a light or dark one.
PALETTE_CHOICES: tuple[str, ...] = ("system", "light", "dark")


def app_window_rgb() -> tuple[int, int, int]:
    """The RGB of the application palette's window colour (light grey without an app)."""
    app = QtWidgets.QApplication.instance()
    if not isinstance(app, QtWidgets.QApplication):
        return (239, 239, 239)
    colour = app.palette().color(QtGui.QPalette.ColorRole.Window)
    return colour.red(), colour.green(), colour.blue()


def current_theme() -> dict[str, str]:
    """The role colours (``"#rrggbb"``) that suit the application palette."""
    return theme_colours(app_window_rgb())


def theme_colour(role: str) -> QtGui.QColor:
    """The colour of ``role`` in :func:`current_theme`, as a QColor."""
    return QtGui.QColor(current_theme()[role])


def is_dark() -> bool:
    """Whether the application palette is a dark one."""
    return theme_name(app_window_rgb()) == "dark"


def set_style_sheet(widget: QtWidgets.QWidget, sheet: str) -> None:
    """Set ``widget``'s style sheet unless it is that already (setting re-polishes)."""
    if widget.styleSheet() != sheet:
        widget.setStyleSheet(sheet)


class _Follower(QtCore.QObject):
    """Calls ``apply`` with the theme now and after each application palette change;
    a child of the widget, so the connection ends with it."""

    def __init__(self, widget: QtCore.QObject, apply: Callable[[dict[str, str]], None]) -> None:
        super().__init__(widget)
        self._apply = apply
        app = QtWidgets.QApplication.instance()
        if isinstance(app, QtWidgets.QApplication):
            app.paletteChanged.connect(self.refresh)
        self.refresh()

    @QtCore.Slot()
    @QtCore.Slot(QtGui.QPalette)
    def refresh(self, _palette: QtGui.QPalette | None = None) -> None:
        self._apply(current_theme())


def follow_theme(widget: QtCore.QObject, apply: Callable[[dict[str, str]], None]) -> None:
    """Call ``apply(theme)`` now and whenever the application palette changes, for as
    long as ``widget`` lives (``theme``: role name to ``"#rrggbb"``)."""
    _Follower(widget, apply)


def theme_style(widget: QtWidgets.QWidget, template: str) -> None:
    """Give ``widget`` the style sheet ``template`` (role names in braces: ``"color:
    {muted};"``) in the theme's colours, now and after each palette change; a later call
    replaces the template."""
    first = widget.property(_TEMPLATE) is None
    widget.setProperty(_TEMPLATE, template)
    if first:
        follow_theme(widget, lambda theme: _fill_template(widget, theme))
    else:
        _fill_template(widget, current_theme())


_TEMPLATE = "themeStyle"


def _fill_template(widget: QtWidgets.QWidget, theme: dict[str, str]) -> None:
    set_style_sheet(widget, str(widget.property(_TEMPLATE) or "").format(**theme))


def readable_icon(icon: QtGui.QIcon, size: int = 32) -> QtGui.QIcon:
    """``icon`` as it is on a light palette; on a dark one, its shape in the palette's
    button text colour (the style's own media icons are drawn dark, unreadable there)."""
    app = QtWidgets.QApplication.instance()
    if not is_dark() or not isinstance(app, QtWidgets.QApplication):
        return icon
    colour = app.palette().color(QtGui.QPalette.ColorRole.ButtonText)
    source = icon.pixmap(size, size)
    tinted = QtGui.QPixmap(source.size())
    tinted.fill(QtCore.Qt.GlobalColor.transparent)
    painter = QtGui.QPainter(tinted)
    painter.drawPixmap(0, 0, source)
    painter.setCompositionMode(QtGui.QPainter.CompositionMode.CompositionMode_SourceIn)
    painter.fillRect(tinted.rect(), colour)
    painter.end()
    return QtGui.QIcon(tinted)


def dark_palette() -> QtGui.QPalette:
    """The dark palette of :data:`deconv_gui.view.theme.DARK_PALETTE`, disabled texts greyed."""
    palette = QtGui.QPalette()
    roles = QtGui.QPalette.ColorRole
    for name, colour in DARK_PALETTE.items():
        role = getattr(roles, name, None)
        if role is not None:  # PlaceholderText is Qt 5.12+
            palette.setColor(role, QtGui.QColor(colour))
    return _grey_disabled(palette, DARK_DISABLED_TEXT)


def _grey_disabled(palette: QtGui.QPalette, colour: str) -> QtGui.QPalette:
    """``palette`` with its disabled texts in ``colour``."""
    roles = QtGui.QPalette.ColorRole
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        palette.setColor(QtGui.QPalette.ColorGroup.Disabled, role, QtGui.QColor(colour))
    return palette


def apply_palette(app: QtWidgets.QApplication, choice: str) -> None:
    """Use the desktop's palette (``"system"``: nothing to do), or a ``"light"`` (the
    style's standard palette, its disabled texts darker) or ``"dark"`` one.

    Raises
    ------
    ValueError
        When ``choice`` is not one of :data:`PALETTE_CHOICES`.
    """
    check_choice("choice", choice, PALETTE_CHOICES)
    style = app.style()
    if choice == "dark":
        app.setPalette(dark_palette())
    elif choice == "light" and style is not None:
        app.setPalette(_grey_disabled(style.standardPalette(), LIGHT_DISABLED_TEXT))
