"""Menus, shortcuts and the toolbar of the main window.

:func:`build_menus` gets the window (a ``QMainWindow``: its menu bar and toolbar) and a
:class:`MenuHandlers` with the callbacks the actions trigger, so it never imports the
window's class.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from qtpy import QtGui, QtWidgets

from ... import __version__
from ...io import SAMPLES
from ..dialogs.shortcuts import ShortcutsDialog

__all__ = ["MenuHandlers", "WindowActions", "build_menus", "show_about"]


@dataclass(frozen=True)
class MenuHandlers:
    """What the menu and toolbar actions do (each a callable of the window)."""

    open_image: Callable[[], object]
    paste_image: Callable[[], object]
    export: Callable[[], object]
    save_session: Callable[[], object]
    open_session: Callable[[], object]
    copy_as_code: Callable[[], object]
    fit_view: Callable[[], object]
    set_layout_mode: Callable[[str], object]
    set_shared_levels: Callable[[bool], object]
    set_scaling: Callable[[str], object]
    about: Callable[[], object]
    fill_recent_menu: Callable[[QtWidgets.QMenu], object]
    load_sample: Callable[[str], object]
    #: extra actions at the end of the View menu (e.g. the controls dock's toggle)
    view_toggles: tuple[QtWidgets.QAction, ...] = ()


@dataclass
class WindowActions:
    """The actions that other code reads or toggles."""

    open: QtWidgets.QAction
    paste: QtWidgets.QAction
    export: QtWidgets.QAction
    quit: QtWidgets.QAction
    fit: QtWidgets.QAction
    layout_grid: QtWidgets.QAction
    layout_row: QtWidgets.QAction
    shared_levels: QtWidgets.QAction
    scaling_clip: QtWidgets.QAction
    scaling_auto: QtWidgets.QAction
    about: QtWidgets.QAction
    shortcuts: QtWidgets.QAction
    recent_menu: QtWidgets.QMenu
    save_session: QtWidgets.QAction
    open_session: QtWidgets.QAction
    copy_code: QtWidgets.QAction
    #: the Edit menu (undo, redo and the history are added to it)
    edit_menu: QtWidgets.QMenu


def _action(
    parent: QtWidgets.QWidget,
    text: str,
    tip: str,
    slot=None,
    shortcut: QtGui.QKeySequence | str | None = None,
    checkable: bool = False,
) -> QtWidgets.QAction:
    action = QtWidgets.QAction(text, parent)
    action.setToolTip(tip)
    action.setStatusTip(tip)
    if shortcut is not None:
        action.setShortcut(QtGui.QKeySequence(shortcut))
    action.setCheckable(checkable)
    if slot is not None:
        (action.toggled if checkable else action.triggered).connect(slot)
    return action


def build_menus(window: QtWidgets.QMainWindow, handlers: MenuHandlers) -> WindowActions:
    """Create the File, Edit, View and Help menus and the toolbar of ``window``."""
    keys = QtGui.QKeySequence.StandardKey
    a_open = _action(
        window,
        "&Open image…",
        "Open a PNG, JPEG, TIFF, BMP or .npy image",
        handlers.open_image,
        keys.Open,
    )
    a_paste = _action(
        window, "&Paste image", "Use the image on the clipboard", handlers.paste_image, keys.Paste
    )
    a_export = _action(
        window,
        "&Export…",
        "Write the panels (PNG as displayed, .npy, 32-bit TIFF), a comparison figure and "
        "params.json into a folder (Ctrl+E)",
        handlers.export,
        "Ctrl+E",
    )
    a_save_session = _action(
        window,
        "&Save session…",
        "Save the image source, filter, geometry, options and view to a .deconv.json file (Ctrl+S)",
        handlers.save_session,
        keys.Save,
    )
    a_open_session = _action(
        window,
        "Open sess&ion…",
        "Restore a .deconv.json session: image, filter, geometry, options and view (Ctrl+Shift+O)",
        handlers.open_session,
        "Ctrl+Shift+O",
    )
    a_code = _action(
        window,
        "Copy as &code…",
        "Show NumPy, deconv_gui and PyTorch scripts that reproduce the forward output and "
        "the transposed reconstruction (Ctrl+Shift+C)",
        handlers.copy_as_code,
        "Ctrl+Shift+C",
    )
    a_export.setIconText("Export")
    a_code.setIconText("Copy as code")
    a_quit = _action(window, "&Quit", "Quit the application", window.close, "Ctrl+Q")
    a_fit = _action(
        window, "&Fit view", "Zoom every panel to show the whole image", handlers.fit_view, "F"
    )
    a_grid = _action(
        window,
        "2×2 &grid",
        "Input and forward output on top, reconstructions below",
        checkable=True,
    )
    a_row = _action(window, "One &row", "All panels side by side in one row", checkable=True)
    layout_group = QtWidgets.QActionGroup(window)
    for action in (a_grid, a_row):
        layout_group.addAction(action)
    a_grid.setChecked(True)
    a_grid.toggled.connect(lambda on: on and handlers.set_layout_mode("grid"))
    a_row.toggled.connect(lambda on: on and handlers.set_layout_mode("row"))
    a_shared = _action(
        window,
        "&Shared levels",
        "Draw every image-sized panel with the input's levels, and move them together",
        handlers.set_shared_levels,
        checkable=True,
    )
    a_clip = _action(
        window,
        "Scaling: &clip to input range",
        "Reconstructions use the input's black and white points (values outside are clipped)",
        checkable=True,
    )
    a_auto = _action(
        window,
        "Scaling: &auto",
        "Each panel stretched to its own 0.5–99.5 % percentiles",
        checkable=True,
    )
    scaling_group = QtWidgets.QActionGroup(window)
    for action in (a_clip, a_auto):
        scaling_group.addAction(action)
    a_clip.setChecked(True)
    a_clip.toggled.connect(lambda on: on and handlers.set_scaling("clip"))
    a_auto.toggled.connect(lambda on: on and handlers.set_scaling("auto"))
    a_about = _action(window, "&About", "Version and what this application shows", handlers.about)
    a_shortcuts = _action(
        window,
        "&Keyboard shortcuts",
        "Every keyboard shortcut of the window (F1)",
        lambda: ShortcutsDialog(window).exec(),
        keys.HelpContents,
    )

    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addAction(a_open)
    file_menu.addAction(a_paste)
    recent = file_menu.addMenu("Open &recent")
    recent.setToolTipsVisible(True)
    recent.aboutToShow.connect(lambda: handlers.fill_recent_menu(recent))
    samples = file_menu.addMenu("&Samples")
    for name in SAMPLES:
        action = samples.addAction(name)
        action.triggered.connect(lambda _=False, n=name: handlers.load_sample(n))
    file_menu.addSeparator()
    file_menu.addAction(a_open_session)
    file_menu.addAction(a_save_session)
    file_menu.addSeparator()
    file_menu.addAction(a_export)
    file_menu.addSeparator()
    file_menu.addAction(a_quit)

    edit_menu = bar.addMenu("&Edit")
    edit_menu.addAction(a_paste)
    edit_menu.addAction(a_code)

    view_menu = bar.addMenu("&View")
    view_menu.addAction(a_fit)
    view_menu.addSeparator()
    view_menu.addAction(a_grid)
    view_menu.addAction(a_row)
    view_menu.addSeparator()
    view_menu.addAction(a_shared)
    view_menu.addAction(a_clip)
    view_menu.addAction(a_auto)
    view_menu.addSeparator()
    for toggle in handlers.view_toggles:
        view_menu.addAction(toggle)

    help_menu = bar.addMenu("&Help")
    help_menu.addAction(a_shortcuts)
    help_menu.addAction(a_about)

    toolbar = window.addToolBar("Main")
    toolbar.setObjectName("main_toolbar")
    toolbar.setMovable(False)
    for action in (a_open, a_paste, a_export, a_code):
        toolbar.addAction(action)
    toolbar.addSeparator()
    toolbar.addWidget(QtWidgets.QLabel(" Layout: "))
    toolbar.addAction(a_grid)
    toolbar.addAction(a_row)
    toolbar.addSeparator()
    toolbar.addAction(a_shared)
    toolbar.addSeparator()
    toolbar.addWidget(QtWidgets.QLabel(" Scaling: "))
    a_clip.setIconText("clip to input")
    a_auto.setIconText("auto")
    toolbar.addAction(a_clip)
    toolbar.addAction(a_auto)
    toolbar.addSeparator()
    toolbar.addAction(a_fit)

    return WindowActions(
        open=a_open,
        paste=a_paste,
        export=a_export,
        quit=a_quit,
        fit=a_fit,
        layout_grid=a_grid,
        layout_row=a_row,
        shared_levels=a_shared,
        scaling_clip=a_clip,
        scaling_auto=a_auto,
        about=a_about,
        shortcuts=a_shortcuts,
        recent_menu=recent,
        save_session=a_save_session,
        open_session=a_open_session,
        copy_code=a_code,
        edit_menu=edit_menu,
    )


def show_about(parent: QtWidgets.QWidget | None) -> None:
    """Help → About."""
    QtWidgets.QMessageBox.about(
        parent,
        "About Deconvolution Explorer",
        f"<h3>Deconvolution Explorer {__version__}</h3>"
        "<p>Shows, side by side, the forward output <i>y = A x + b</i> of a strided "
        "convolution, the transposed reconstruction <i>Aᵀ(y − b)</i> (what "
        "'deconvolution' layers compute: the adjoint, not an inverse) and the "
        "pseudo-inverse <i>A⁺(y − b)</i> (the minimum-norm image that reproduces "
        "<i>y</i> exactly).</p><p>Samples: " + ", ".join(SAMPLES) + "</p>",
    )
