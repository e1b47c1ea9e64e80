"""The display choices have one copy, ``document.display``: the panels and the View menu mirror it.

The View menu's layout, shared-levels and scaling choices write the document
(:meth:`DisplayMirror.set_layout_mode`, ...); every change of ``document.display``, made
by the menu, a session, the stored settings or undo, is then drawn by
:meth:`DisplayMirror.show`: the panels' arrangement and scaling and the menu's ticks.
Nothing reads these choices back from the widgets. (The forward panel's channel box
still writes its channel when the document is read: its range follows each result.)
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ...document import Display, Document
from ..panels.grid import PanelGrid

__all__ = ["DisplayMirror"]


class DisplayMirror:
    """Writes the View menu's display choices into ``document`` and shows the document's.

    Parameters
    ----------
    document : Document
        The window's document (its ``display`` is the one copy).
    panels : PanelGrid
        The panels that draw as ``display`` says.
    """

    def __init__(self, document: Document, panels: PanelGrid) -> None:
        self.document = document
        self.panels = panels
        #: the View menu's actions (``layout_grid``, ...), once the menus exist
        self.actions: Any = None
        #: the panels shown, whose arrangement the One row action speaks of
        self.shown: Any = panels
        document.events.display.connect(self.show)
        self.watch(panels)

    def watch(self, panels: Any) -> None:
        """Speak of ``panels``' arrangement too (a widget with an ``arranged`` signal and an
        ``arrangement``, as :class:`PanelGrid`), whenever they are the panels shown
        (:meth:`show_panels`): the network's panels wrap their one row as these do."""
        panels.arranged.connect(lambda _note: self._arranged(panels))

    def show_panels(self, panels: Any) -> None:
        """``panels`` are the ones the window shows now (the layer alone's or the network's):
        the One row action says whether theirs is wrapped."""
        self.shown = panels
        self._show_arrangement()

    def _arranged(self, panels: Any) -> None:
        if panels is self.shown:  # hidden panels place themselves for no one
            self._show_arrangement()

    # -- the View menu writes ---------------------------------------------------------------
    def set_layout_mode(self, mode: str) -> None:
        """``"grid"`` or ``"row"`` (ValueError otherwise, nothing changed)."""
        self._change(layout=mode)

    def set_shared_levels(self, shared: bool) -> None:
        """One brightness range for every image-sized panel, or each its own."""
        self._change(shared_levels=bool(shared))

    def set_scaling(self, scaling: str) -> None:
        """``"clip"`` or ``"auto"`` (ValueError otherwise, nothing changed)."""
        self._change(scaling=scaling)

    def _change(self, **values: Any) -> None:
        self.document.display = replace(self.document.display, **values)

    # -- the widgets follow -----------------------------------------------------------------
    def show(self, display: Display) -> None:
        """Arrange and scale the panels as ``display`` says, and tick the menu to match."""
        panels = self.panels
        if panels.layout_mode != display.layout:
            panels.set_layout_mode(display.layout)
        if bool(panels.shared_levels) != display.shared_levels:
            panels.set_shared_levels(display.shared_levels)
        if panels.scaling != display.scaling:
            panels.set_scaling(display.scaling)
        actions = self.actions
        if actions is None:
            return
        # a ticked action calls back with the value the document already holds: no event
        (actions.layout_row if display.layout == "row" else actions.layout_grid).setChecked(True)
        actions.shared_levels.setChecked(display.shared_levels)
        scaling = actions.scaling_auto if display.scaling == "auto" else actions.scaling_clip
        scaling.setChecked(True)
        self._show_arrangement()

    def _show_arrangement(self) -> None:
        """The One row button says when the shown panels' row is wrapped (too narrow), its
        tooltip (and the status bar, under the pointer) why."""
        action = self.actions.layout_row if self.actions is not None else None
        if action is None:
            return
        arrangement = self.shown.arrangement
        note = arrangement.note if arrangement is not None else ""
        if action.property("plain") is None:  # the menu's own words, once
            action.setProperty("plain", (action.iconText(), action.toolTip()))
        text, tip = action.property("plain")
        action.setIconText(f"{text} (wrapped)" if note else text)
        action.setToolTip(note or tip)
        action.setStatusTip(note or tip)
