"""The "Insight" menu and views, installed on a main window.

:func:`install_insight` reads the :class:`~deconv_gui.gui.state.AppState` (the result
on screen) and acts on the window only through :class:`InsightHooks` (narrow
callbacks): it adds the Insight menu, the "lost information" panels toggle, rank and
nullity in the arithmetic box (computed off the GUI thread), click-to-inspect with its
dock, and the dialogs (spectrum, check my code, the question's example). Nothing here
does math: it calls ``deconv_gui.core``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from qtpy import QtCore, QtGui, QtWidgets

from ...core import (
    ConvOperator,
    Result,
    SolveCancelled,
    exact_rank_feasible,
    rank_bounds,
    rank_info,
)
from ...core.pipeline import INSIGHT_METHODS
from ...core.solvers.dense import DENSE_SOLVE_COST
from ...document import Insight as InsightToggles
from ..controls.recon_options import ReconOptions
from ..panels.grid import PanelGrid
from ..runner import JobRunner, Priority
from ..state import AppState
from ..support.qthelp import nonnull
from .inspector import InspectDock, Inspector

__all__ = ["Insight", "InsightHooks", "install_insight"]


@dataclass(frozen=True)
class InsightHooks:
    """What the Insight views may do to the window besides reading the state.

    Attributes
    ----------
    panels : PanelGrid
        The panels (click to inspect, overlays, the forward channel).
    recon_options : ReconOptions
        Its "normalised" checkbox is ticked while the lost-information panels show.
    show_arithmetic : callable
        Shows a line of shape arithmetic (with rank and nullity) under the geometry.
    recompute : callable
        Recomputes (after the lost-information panels were shown or hidden).
    load_seed_example : callable
        Loads the question's 7×7×3 image and filter at stride 2, no padding.
    set_zero_padding : callable
        Sets the padding to 0 (the question's deConv supports no padding).
    """

    panels: PanelGrid
    recon_options: ReconOptions
    show_arithmetic: Callable[[str], None]
    recompute: Callable[[], None]
    load_seed_example: Callable[[], None]
    set_zero_padding: Callable[[], None]


class Insight(QtCore.QObject):
    """Everything the Insight menu adds to one window (kept as ``window.insight``).

    Parameters
    ----------
    window : QMainWindow
        Gets the menu, the inspect dock and the Esc shortcut; parent of the dialogs.
    state : AppState
        The result on screen.
    hooks : InsightHooks
        What the views may do to the window.
    """

    def __init__(self, window: QtWidgets.QMainWindow, state: AppState, hooks: InsightHooks) -> None:
        super().__init__(window)
        self.window = window
        self.state = state
        self.hooks = hooks
        self.user_ticked_normalised = True
        self.dialogs: dict[str, QtWidgets.QWidget] = {}
        self.rank_text = ""
        self._image_seen: object = None  # the window's image when the last result was drawn
        self._rank_for: Result | None = None
        self.rank_jobs = JobRunner(self, priority=Priority.INSIGHT)
        self.rank_jobs.resultReady.connect(self._on_rank)
        self.rank_jobs.failed.connect(lambda _rid, msg: self._show_rank(f"rank: {msg}"))
        self.dock = InspectDock(window)
        self.dock.setVisible(False)
        window.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.inspector = Inspector(state, hooks.panels, self.dock, self)
        self._build_menu()
        self._escape = QtWidgets.QShortcut(QtGui.QKeySequence(QtCore.Qt.Key.Key_Escape), window)
        self._escape.setContext(QtCore.Qt.ShortcutContext.WindowShortcut)
        self._escape.setWhatsThis("Clear the inspected pixel")
        self._escape.activated.connect(self.inspector.clear)
        state.resultChanged.connect(self._on_result)
        if state.result is not None:
            self._on_result(state.result)

    # -- building --------------------------------------------------------------------------
    def _action(self, text: str, tip: str, slot, shortcut: str | None = None, checkable=False):
        action = QtWidgets.QAction(text, self.window)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.setCheckable(checkable)
        if shortcut:
            action.setShortcut(QtGui.QKeySequence(shortcut))
        (action.toggled if checkable else action.triggered).connect(slot)
        return action

    def _build_menu(self) -> None:
        self.panels_action = self._action(
            "Show &lost-information panels",
            "Add a row of panels: the coverage Aᵀ1, the recoverable part A⁺Ax and the "
            "lost part x − A⁺Ax of the input, and the normalised transposed result",
            self.set_panels_visible,
            "Ctrl+I",
            checkable=True,
        )
        self.inspect_action = self._action(
            "Show the &Inspect dock",
            "Click a pixel of a panel to see what it is linked to; Esc clears",
            self.dock.setVisible,
            checkable=True,
        )
        self.dock.visibilityChanged.connect(self.inspect_action.setChecked)
        self.seed_action = self._action(
            "The &question's 7×7×3 example",
            "Load the seed question's toy image and filter (stride 2, no padding) and show "
            "A, Aᵀ and A⁺ as matrices",
            self.open_seed_example,
        )
        self.check_action = self._action(
            "&Check my code…",
            "Load a .npy your own code produced and compare it with this app's forward "
            "output or transposed reconstruction",
            self.open_check_dialog,
        )
        self.question_action = self._action(
            "The question's &deConv",
            "Run the asker's deConv loop on the current y and show how it departs from Aᵀ(y − b)",
            self.open_question_deconv,
        )
        self.spectrum_action = self._action(
            "&Spectrum and regularisation…",
            "Singular values of A with the current reg, and an L-curve / PSNR-versus-reg plot",
            self.open_spectrum,
        )
        self.fourier_action = self._action(
            "&Fourier view…",
            "The filter's spectrum, how the stride folds frequencies together, which survive, "
            "and the transposed layer's checkerboard",
            self.open_fourier,
        )
        menu = self._insight_menu()
        menu.setToolTipsVisible(True)
        for action in (self.panels_action, self.inspect_action, None, self.seed_action):
            menu.addSeparator() if action is None else menu.addAction(action)
        menu.addSeparator()
        for action in (
            self.check_action,
            self.question_action,
            None,
            self.spectrum_action,
            self.fourier_action,
        ):
            menu.addSeparator() if action is None else menu.addAction(action)
        self.menu = menu

    def _insight_menu(self) -> QtWidgets.QMenu:
        """The Insight menu, placed before Help (which stays last, as users expect)."""
        bar = nonnull(self.window.menuBar())
        menu = QtWidgets.QMenu("&Insight", bar)
        help_action = next((a for a in bar.actions() if a.text() == "&Help"), None)
        if help_action is None:
            bar.addMenu(menu)
        else:
            bar.insertMenu(help_action, menu)
        return menu

    # -- panels and rank -------------------------------------------------------------------
    @property
    def user_ticked_normalised(self) -> bool:
        """The user ticked the normalised panel themselves: hiding the lost-information
        panels keeps it (the document's :class:`~deconv_gui.document.Insight`)."""
        return self.state.document.insight.normalised_by_user

    @user_ticked_normalised.setter
    def user_ticked_normalised(self, ticked: bool) -> None:
        self.state.document.insight = InsightToggles(bool(ticked))

    def show_methods(self, methods: tuple[str, ...]) -> tuple[str, ...]:
        """Show the lost-information panels when ``methods`` include theirs; returns the
        other methods, for the forms (the panels are a menu toggle, not options)."""
        rest = tuple(m for m in methods if m not in INSIGHT_METHODS)
        panels = len(rest) < len(methods)
        if panels and self.panels_action.isChecked():
            # shown already (a model's layer loaded over them): they ticked the normalised
            # panel themselves, it is in ``methods`` for them, and the user's choice stays
            return rest
        self.set_panels_visible(panels)  # may tick the normalised panel
        self.user_ticked_normalised = "normalized_transposed" in rest
        return rest

    def set_panels_visible(self, visible: bool) -> None:
        """Show (compute) or hide the lost-information panels; recomputes."""
        if self.panels_action.isChecked() != bool(visible):
            self.panels_action.setChecked(bool(visible))  # re-enters through toggled
            return
        # the normalised panel is the options' checkbox: tick it (and untick it again on
        # hide unless the user had ticked it), so the checkbox tells what is shown
        options, normalised = self.hooks.recon_options, "normalized_transposed"
        shown = options.methods()
        if visible:
            self.user_ticked_normalised = normalised in shown
            if not self.user_ticked_normalised:
                options.set_values(methods=(*shown, normalised))
        elif not self.user_ticked_normalised:
            options.set_values(methods=tuple(m for m in shown if m != normalised))
        self.hooks.recompute()

    def extra_methods(self) -> tuple[str, ...]:
        """The methods the lost-information panels add to the computation (none hidden)."""
        return INSIGHT_METHODS if self.panels_action.isChecked() else ()

    def _on_result(self, result: Result) -> None:
        loaded = self.state.image
        new_image = loaded is not self._image_seen
        self._image_seen = loaded
        if new_image:  # the inspected pixel belonged to the previous image
            self.inspector.clear()
        elif self.inspector.selection is not None:
            self.inspector.inspect(*self.inspector.selection)
        # an SVD cannot be interrupted: only one that ends quickly is started
        if not exact_rank_feasible(result.geometry, max_cost=DENSE_SOLVE_COST):
            self.rank_jobs.cancel()
            self._show_rank(rank_bounds(result.geometry).describe(), result)
            return
        params, geom = result.params, result.geometry
        self._rank_for = result
        self._show_rank("rank: computing…", result)

        def job(cancel, _progress):
            if cancel.is_set():  # superseded while queued
                raise SolveCancelled("a newer result is on screen")
            return rank_info(ConvOperator(geom, params.weights), max_cost=DENSE_SOLVE_COST)

        self.rank_jobs.submit(job)

    def _on_rank(self, _rid: int, info: object) -> None:
        self._show_rank(info.describe(), self._rank_for)  # type: ignore[attr-defined]

    def _show_rank(self, text: str, result: Result | None = None) -> None:
        result = result if result is not None else self.state.result
        if result is None or not self.state.is_shown(result):
            return
        self.rank_text = text
        self.hooks.show_arithmetic(f"{result.geometry.describe()} · {text}")

    # -- dialogs (each in its own module, imported when first opened) ----------------------
    def open_seed_example(self) -> None:
        from .seed import open_seed_example

        open_seed_example(self)

    def open_check_dialog(self) -> QtWidgets.QWidget:
        from .check import CheckDialog

        return self._show_dialog(
            "check", lambda: CheckDialog(self.state, self.hooks.set_zero_padding, self.window)
        )

    def open_question_deconv(self) -> QtWidgets.QWidget:
        dialog = self.open_check_dialog()
        dialog.run_question_deconv()
        return dialog

    def open_spectrum(self) -> QtWidgets.QWidget:
        from .spectrum import SpectrumWindow

        return self._show_dialog("spectrum", lambda: SpectrumWindow(self.state, self.window))

    def open_fourier(self) -> QtWidgets.QWidget:
        from .fourier import FourierWindow

        return self._show_dialog("fourier", lambda: FourierWindow(self.state, self.window))

    def _show_dialog(self, key: str, make) -> QtWidgets.QWidget:
        dialog = self.dialogs.get(key)
        if dialog is None:
            dialog = make()
            self.dialogs[key] = dialog
        dialog.show()
        dialog.raise_()
        return dialog

    # -- teardown --------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop every background job and close the dialogs (the window is closing)."""
        self.rank_jobs.shutdown()
        self.inspector.shutdown()
        for dialog in self.dialogs.values():
            stop = getattr(dialog, "shutdown", None)
            if stop is not None:
                stop()
            dialog.close()


def install_insight(window: QtWidgets.QMainWindow, state: AppState, hooks: InsightHooks) -> Insight:
    """Add the Insight menu, panels, inspector and dialogs to ``window``.

    Returns the :class:`Insight`. Call once, after the window is built; the window
    stores it as ``window.insight`` and calls :meth:`Insight.shutdown` when it closes.
    """
    return Insight(window, state, hooks)
