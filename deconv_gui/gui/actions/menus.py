"""Menus, shortcuts and the toolbar of the main window, built from one table.

:data:`ACTIONS` lists every action once (its text, tip, shortcut and what it calls);
:data:`MENUS` and :data:`TOOLBAR` place the actions by id. :func:`build_menus` gets
the window (a ``QMainWindow``: its menu bar and toolbar) and a :class:`MenuHandlers`
with the callbacks, so it never imports the window's class. Help → Keyboard shortcuts
reads the live actions, so it lists what this table made.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields

from qtpy import QtGui, QtWidgets

from ... import __version__
from ...document import ACTIVATION_KINDS
from ...document.network import ACTIVATION_WORDS
from ...io import SAMPLES
from ..dialogs.shortcuts import ShortcutsDialog
from ..support.qthelp import nonnull
from ..support.teardown import run_once

__all__ = [
    "ACTIONS",
    "MENUS",
    "TOOLBAR",
    "ActionSpec",
    "MenuHandlers",
    "WindowActions",
    "build_menus",
    "show_about",
]

_KEYS = QtGui.QKeySequence.StandardKey


@dataclass(frozen=True)
class MenuHandlers:
    """What the menu and toolbar actions do (each a callable of the window)."""

    open_image: Callable[[], object]
    open_model: Callable[[], object]
    load_decoder: Callable[[], object]
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
    #: the Network menu: add a layer of a kind after the current row, remove the current
    #: row, move it by a step, study the network up to the layer (or it alone), study the
    #: previous or next convolution
    add_layer: Callable[[str], object] = lambda _kind: None
    remove_layer: Callable[[], object] = lambda: None
    move_layer: Callable[[int], object] = lambda _step: None
    set_through: Callable[[bool], object] = lambda _on: None
    study_step: Callable[[int], object] = lambda _step: None
    #: extra actions at the end of the View menu (e.g. the controls dock's toggle)
    view_toggles: tuple[QtWidgets.QAction, ...] = ()


@dataclass(frozen=True)
class ActionSpec:
    """One action of the window: the row of :data:`ACTIONS` that makes it.

    ``handler`` names a :class:`MenuHandlers` field (or ``"close"`` and
    ``"show_shortcuts"``, the window's own). A ``choice`` action is one of an exclusive
    group (``choice = (group, value)``): when checked it calls the handler with
    ``value``; the first of a group starts checked. A ``checkable`` action calls its
    handler with the new state; another calls it with ``args``. Tips end with the
    shortcut, read from the keys.
    """

    id: str
    text: str
    tip: str
    handler: str
    shortcut: str | QtGui.QKeySequence.StandardKey | None = None
    icon_text: str | None = None
    checkable: bool = False
    choice: tuple[str, str] | None = None
    args: tuple[object, ...] = ()


def _article(word: str) -> str:
    return "an" if word[0] in "aeiouAEIOU" else "a"


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("open", "&Open image…", "Open a PNG, JPEG, TIFF, BMP or .npy image",
               "open_image", _KEYS.Open),
    ActionSpec("open_model", "Open &model…", "List the conv layers of an ONNX, PyTorch, "
               "safetensors or Keras file and study one on what the model feeds it",
               "open_model", "Ctrl+Shift+M"),
    ActionSpec("load_decoder", "Load &decoder…", "Show the learned decoder D(y) of a "
               "fit-decoder .npz file beside Aᵀ and A⁺, scored with them", "load_decoder"),
    ActionSpec("paste", "&Paste image", "Use the image on the clipboard", "paste_image",
               _KEYS.Paste),
    ActionSpec("export", "&Export…", "Write the panels (PNG as displayed, .npy, 32-bit TIFF), "
               "a comparison figure and params.json into a folder", "export", "Ctrl+E",
               icon_text="Export"),
    ActionSpec("save_session", "&Save session…", "Save the image source, filter, geometry, "
               "options and view to a .deconv.json file", "save_session", _KEYS.Save),
    ActionSpec("open_session", "Open sess&ion…", "Restore a .deconv.json session: image, "
               "filter, geometry, options and view", "open_session", "Ctrl+Shift+O"),
    ActionSpec("copy_code", "Copy as &code…", "Show NumPy, deconv_gui and PyTorch scripts that "
               "reproduce the forward output and the transposed reconstruction",
               "copy_as_code", "Ctrl+Shift+C", icon_text="Copy as code"),
    ActionSpec("quit", "&Quit", "Quit the application", "close", "Ctrl+Q"),
    ActionSpec("add_conv", "Add &conv layer", "Add a convolution after the current layer, "
               "its filter and geometry those of the layer under study, and study it",
               "add_layer", "Ctrl+Alt+C", icon_text="+ Conv", args=("conv",)),
    ActionSpec("add_relu", "Add &ReLU", "Add a ReLU after the current layer", "add_layer",
               "Ctrl+Alt+R", icon_text="+ ReLU", args=("relu",)),
    ActionSpec("add_leaky_relu", "Add &leaky ReLU", "Add a leaky ReLU (slope 0.01) after the "
               "current layer", "add_layer", icon_text="+ leaky ReLU", args=("leaky_relu",)),
    ActionSpec("add_maxpool", "Add &max-pool", "Add a 2×2 max-pool of stride 2 after the "
               "current layer", "add_layer", "Ctrl+Alt+P", icon_text="+ Pool",
               args=("maxpool",)),
    ActionSpec("add_avgpool", "Add &average pool", "Add a 2×2 average pool of stride 2 after "
               "the current layer", "add_layer", icon_text="+ avg-pool", args=("avgpool",)),
    *(
        ActionSpec(f"add_{kind}", f"Add {ACTIVATION_WORDS[kind]}",
                   f"Add {_article(ACTIVATION_WORDS[kind])} {ACTIVATION_WORDS[kind]} "
                   "(element-wise, PyTorch's) after the current layer", "add_layer",
                   icon_text=f"+ {ACTIVATION_WORDS[kind]}", args=(kind,))
        for kind in ACTIVATION_KINDS
    ),
    ActionSpec("remove_layer", "Re&move layer", "Remove the current layer of the network",
               "remove_layer", "Ctrl+Alt+X", icon_text="−"),
    ActionSpec("move_layer_up", "Move layer &up", "Move the current layer one place earlier",
               "move_layer", "Alt+Up", icon_text="▲", args=(-1,)),
    ActionSpec("move_layer_down", "Move layer &down", "Move the current layer one place later",
               "move_layer", "Alt+Down", icon_text="▼", args=(1,)),
    ActionSpec("through", "Study the &network up to here", "Study the network from the image "
               "up to the layer (its local linear map J at the image: Jᵀ, deconvnet, guided "
               "backprop, J⁺, what J loses) instead of the layer alone", "set_through", "Ctrl+T",
               checkable=True),
    ActionSpec("study_previous", "Study the &previous conv", "Study the convolution before the "
               "one under study", "study_step", "Ctrl+[", args=(-1,)),
    ActionSpec("study_next", "Study the ne&xt conv", "Study the convolution after the one under "
               "study", "study_step", "Ctrl+]", args=(1,)),
    ActionSpec("fit", "&Fit view", "Zoom every panel to show the whole image", "fit_view", "F"),
    ActionSpec("layout_grid", "2×2 &grid", "Input and forward output on top, reconstructions "
               "below", "set_layout_mode", choice=("layout", "grid")),
    ActionSpec("layout_row", "One &row", "All panels side by side in one row (wrapped "
               "into several rows when one row would make them too narrow)", "set_layout_mode",
               choice=("layout", "row")),
    ActionSpec("shared_levels", "&Shared levels", "Draw every image-sized panel with the "
               "input's levels, and move them together", "set_shared_levels", checkable=True),
    ActionSpec("scaling_clip", "Scaling: &clip to input range", "Reconstructions use the "
               "input's black and white points (values outside are clipped)", "set_scaling",
               icon_text="clip to input", choice=("scaling", "clip")),
    ActionSpec("scaling_auto", "Scaling: &auto", "Each panel stretched to its own 0.5–99.5 % "
               "percentiles", "set_scaling", icon_text="auto", choice=("scaling", "auto")),
    ActionSpec("shortcuts", "&Keyboard shortcuts", "Every keyboard shortcut of the window",
               "show_shortcuts", _KEYS.HelpContents),
    ActionSpec("about", "&About", "Version and what this application shows", "about"),
)  # fmt: skip

#: The menus, in order: action ids, ``"-"`` for a separator, and the submenus
#: ``"@recent"`` (File → Open recent), ``"@samples"``, ``"@toggles"`` (the
#: handlers' view toggles) and ``"@activations"`` (Network → Add activation).
MENUS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("&File", ("open", "open_model", "load_decoder", "paste", "@recent", "@samples", "-",
               "open_session", "save_session", "-", "export", "-", "quit")),
    ("&Edit", ("paste", "copy_code")),
    ("&View", ("fit", "-", "layout_grid", "layout_row", "-", "shared_levels", "scaling_clip",
               "scaling_auto", "-", "@toggles")),
    ("&Network", ("add_conv", "add_relu", "add_leaky_relu", "@activations", "add_maxpool",
                  "add_avgpool", "-",
                  "remove_layer", "move_layer_up", "move_layer_down", "-", "study_previous",
                  "study_next", "-", "through")),
    ("&Help", ("shortcuts", "about")),
)  # fmt: skip

#: The menus that show their actions' tooltips: an action off there says why in its tip
#: (Network: a model file's read-only network, a file without a graph).
_TIPPED_MENUS = ("&Network",)

#: The toolbar: action ids, ``"-"`` for a separator, other text for a label.
TOOLBAR: tuple[str, ...] = (
    "open", "paste", "export", "copy_code", "-", " Layout: ", "layout_grid", "layout_row",
    "-", "shared_levels", "-", " Scaling: ", "scaling_clip", "scaling_auto", "-", "fit",
)  # fmt: skip


@dataclass
class WindowActions:
    """The window's actions by :attr:`ActionSpec.id` (``actions.layout_row``), and menus."""

    by_id: dict[str, QtWidgets.QAction]
    #: File → Open recent (filled when it opens)
    recent_menu: QtWidgets.QMenu
    #: the Edit menu (undo, redo and the history are added to it)
    edit_menu: QtWidgets.QMenu
    groups: dict[str, QtWidgets.QActionGroup] = field(default_factory=dict)

    def __getattr__(self, name: str) -> QtWidgets.QAction:
        try:
            return self.__dict__["by_id"][name]
        except KeyError:
            raise AttributeError(name) from None


def _keys_text(shortcut: str | QtGui.QKeySequence.StandardKey) -> str:
    return QtGui.QKeySequence(shortcut).toString(QtGui.QKeySequence.SequenceFormat.NativeText)


def _call(run: Callable[..., object], *args: object) -> Callable[..., None]:
    """A slot that calls ``run(*args)``, whatever the signal sends and ``run`` returns."""

    def slot(*_: object) -> None:
        run(*args)

    return slot


def _connect(action: QtWidgets.QAction, spec: ActionSpec, run: Callable[..., object]) -> None:
    """Call ``run`` as the spec says: with nothing, the new state, or the choice's value."""
    if spec.choice is not None:
        value = spec.choice[1]

        def chosen(on: bool) -> None:
            if on:
                run(value)

        action.toggled.connect(chosen)
    elif spec.checkable:

        def toggled(on: bool) -> None:
            run(bool(on))

        action.toggled.connect(toggled)
    else:
        action.triggered.connect(_call(run, *spec.args))


def make_action(
    parent: QtWidgets.QWidget, spec: ActionSpec, run: Callable[..., object]
) -> QtWidgets.QAction:
    """The ``QAction`` of one :data:`ACTIONS` row, connected to ``run``."""
    action = QtWidgets.QAction(spec.text, parent)
    action.setObjectName(f"action_{spec.id}")
    tip = spec.tip
    if spec.shortcut is not None:
        action.setShortcut(QtGui.QKeySequence(spec.shortcut))
        keys = _keys_text(spec.shortcut)
        tip = f"{tip} ({keys})" if keys else tip
    action.setToolTip(tip)
    action.setStatusTip(tip)
    if spec.icon_text:
        action.setIconText(spec.icon_text)
    action.setCheckable(spec.checkable or spec.choice is not None)
    _connect(action, spec, run)
    return action


def _handlers(
    window: QtWidgets.QMainWindow, handlers: MenuHandlers
) -> dict[str, Callable[..., object]]:
    named: dict[str, Callable[..., object]] = {
        f.name: getattr(handlers, f.name) for f in fields(handlers)
    }
    named["close"] = window.close
    named["show_shortcuts"] = lambda: run_once(ShortcutsDialog(window))
    return named


def build_menus(window: QtWidgets.QMainWindow, handlers: MenuHandlers) -> WindowActions:
    """Create the menus and the toolbar of ``window`` from :data:`ACTIONS`."""
    named = _handlers(window, handlers)
    by_id = {spec.id: make_action(window, spec, named[spec.handler]) for spec in ACTIONS}
    groups: dict[str, QtWidgets.QActionGroup] = {}
    for spec in ACTIONS:
        if spec.choice is not None:
            if spec.choice[0] not in groups:
                groups[spec.choice[0]] = QtWidgets.QActionGroup(window)
                by_id[spec.id].setChecked(True)  # the first of a group is the default
            groups[spec.choice[0]].addAction(by_id[spec.id])
    bar = nonnull(window.menuBar(), "menu bar")
    menus: dict[str, QtWidgets.QMenu] = {}
    for title, entries in MENUS:
        menu = menus[title] = nonnull(bar.addMenu(title))
        menu.setToolTipsVisible(title in _TIPPED_MENUS)
        for entry in entries:
            _add_entry(menu, entry, by_id, handlers, menus)
    toolbar = nonnull(window.addToolBar("Main"))
    toolbar.setObjectName("main_toolbar")
    toolbar.setMovable(False)
    for entry in TOOLBAR:
        if entry == "-":
            toolbar.addSeparator()
        elif entry in by_id:
            toolbar.addAction(by_id[entry])
        else:
            toolbar.addWidget(QtWidgets.QLabel(entry))
    return WindowActions(by_id, menus["@recent"], menus["&Edit"], groups)


def _add_entry(
    menu: QtWidgets.QMenu,
    entry: str,
    by_id: dict[str, QtWidgets.QAction],
    handlers: MenuHandlers,
    menus: dict[str, QtWidgets.QMenu],
) -> None:
    if entry == "-":
        menu.addSeparator()
    elif entry == "@recent":
        recent = menus[entry] = nonnull(menu.addMenu("Open &recent"))
        recent.setObjectName("recent_menu")
        recent.setToolTipsVisible(True)
        recent.aboutToShow.connect(_call(handlers.fill_recent_menu, recent))
    elif entry == "@samples":
        samples = nonnull(menu.addMenu("&Samples"))
        for name in SAMPLES:
            nonnull(samples.addAction(name)).triggered.connect(_call(handlers.load_sample, name))
    elif entry == "@activations":
        more = nonnull(menu.addMenu("Add &activation"))
        more.setToolTipsVisible(True)
        for kind in ACTIVATION_KINDS:
            more.addAction(by_id[f"add_{kind}"])
    elif entry == "@toggles":
        for toggle in handlers.view_toggles:
            menu.addAction(toggle)
    else:
        menu.addAction(by_id[entry])


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
