"""The window side of File → Export…: capture what is shown and hand it to :func:`export_result`.

All the writing (atomic, all or nothing, refusing existing files) happens in
:func:`deconv_gui.io.export.export_result`; here we only collect the displayed pixels,
the comparison figure and the display options, and turn errors into messages. The
functions read the :class:`~deconv_gui.gui.state.AppState` (result, image, settings)
and the :class:`~deconv_gui.gui.panels.grid.PanelGrid` (what is displayed).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from qtpy import QtWidgets

from ...core import registry
from ...io.export import EXPORT_FORMATS, ExistingFilesError, export_result, panel_arrays
from ..dialogs.export import ExportChoices, ExportDialog
from ..panels.capture import comparison_figure, displayed_pixels, panel_levels
from ..panels.grid import PanelGrid
from ..panels.image_panel import ImagePanel
from ..state import AppState
from ..support import settings as stored
from ..support.teardown import run_once

__all__ = [
    "EXPORT_TO_PANEL",
    "ask_overwrite",
    "available_panels",
    "display_options",
    "export_to",
    "export_with_dialog",
    "make_export_dialog",
    "window_panel",
]

#: Export panel names (file stems) that differ from the window's panel names (from the
#: registry, kept for callers of the old name).
EXPORT_TO_PANEL: dict[str, str] = {
    p.export_name: p.name for p in registry.PANELS if p.export_name != p.name
}


def window_panel(panels: PanelGrid, name: str) -> ImagePanel | None:
    """The window's :class:`~deconv_gui.gui.panels.grid.ImagePanel` for export panel ``name``.

    None when the window has no such panel (its PNG is then rendered with default
    levels by :func:`~deconv_gui.io.render.render_array`).
    """
    try:
        gui_name = registry.panel_for_export_name(name).name
    except ValueError:
        return None
    return panels.panels.get(gui_name)


def available_panels(state: AppState, panels: PanelGrid) -> list[tuple[str, str]]:
    """``(export name, title)`` of every panel the current result has."""
    if state.result is None:
        return []
    out = []
    for name in panel_arrays(state.result):
        panel = window_panel(panels, name)
        out.append((name, name if panel is None else panel.title_text))
    return out


def display_options(panels: PanelGrid, names: Iterable[str] | None = None) -> dict[str, Any]:
    """How the panels are drawn: scaling, shared levels, layout, and per panel levels/colormap.

    Recorded under ``extra`` in ``params.json`` (and in sessions, without the levels).
    """
    grid = panels
    out: dict[str, Any] = {
        "scaling": grid.scaling,
        "shared_levels": bool(grid.shared_levels),
        "layout": grid.layout_mode,
        "forward_channel": int(grid.forward_channel),
    }
    if names is not None:
        shown = {}
        for name in names:
            panel = window_panel(grid, name)
            if panel is None:
                continue
            spec = panel.spec
            shown[name] = {
                "levels": panel_levels(panel),
                "colormap": None if spec is None else spec.colormap,
                "note": "" if spec is None else spec.note,
            }
        out["panels"] = shown
    return out


def ask_overwrite(parent: QtWidgets.QWidget | None, paths: list[Path]) -> bool:
    """Ask "Overwrite N files?" listing (the first few of) them; True on Yes."""
    shown = "\n".join(p.name for p in paths[:12]) + ("\n…" if len(paths) > 12 else "")
    answer = QtWidgets.QMessageBox.question(
        parent,
        "Overwrite files?",
        f"Overwrite {len(paths)} file{'s' if len(paths) != 1 else ''} in "
        f"{paths[0].parent}?\n\n{shown}",
        QtWidgets.QMessageBox.StandardButton.Yes | QtWidgets.QMessageBox.StandardButton.No,  # type: ignore[arg-type]  # PyQt5 stubs: flag | flag is int
        QtWidgets.QMessageBox.StandardButton.No,
    )
    return answer == QtWidgets.QMessageBox.StandardButton.Yes


def export_to(
    state: AppState,
    panels: PanelGrid,
    folder: str | Path,
    *,
    names: Iterable[str] | None = None,
    formats: Iterable[str] = EXPORT_FORMATS,
    figure: bool = True,
    overwrite: bool = False,
    parent: QtWidgets.QWidget | None = None,
    matrix: bool = False,
) -> list[Path] | None:
    """Write the current result into ``folder``; the files written, or None (message shown).

    Parameters
    ----------
    state : AppState
        The result, the image and the settings; messages go through it.
    panels : PanelGrid
        What the window shows (the PNGs are the panels as displayed).
    folder : str or Path
        An existing, writable folder.
    names : iterable of str, optional
        Export panel names (default: every panel of the result), see
        :data:`~deconv_gui.io.export.PANELS`.
    formats : iterable of str
        Among ``"npy"``, ``"tif"`` and ``"png"`` (the PNG is the panel as displayed).
    figure : bool
        Also write ``figure.png`` and ``figure.svg`` (the panels side by side).
    overwrite : bool
        Replace existing files without asking. Otherwise existing files lead to an
        "Overwrite N files?" question, and nothing is written on No.
    parent : QWidget, optional
        The parent of the "Overwrite?" question.
    matrix : bool
        Also write the matrix ``A`` as ``A.npz`` (refused, with a message, when too large).
    """
    result = state.result
    if result is None:
        state.notify("Nothing to export yet: wait until the panels show a result.")
        return None
    names = list(panel_arrays(result)) if names is None else list(names)
    formats = tuple(formats)
    if not names:
        state.notify("Choose at least one panel to export.")
        return None
    try:
        displayed, pictures = {}, []
        for name in names:
            panel = window_panel(panels, name)
            pixels = None if panel is None else displayed_pixels(panel)
            if panel is not None and pixels is not None:
                displayed[name] = pixels
                note = "" if panel.spec is None else panel.spec.note
                pictures.append((panel.title_text, note, pixels))
        figures = comparison_figure(pictures) if figure and pictures else None
        options: dict[str, Any] = dict(
            displayed=displayed,
            image_source=state.image,
            panels=names,
            formats=formats,
            figures=figures,
            extra={"display": display_options(panels, names)},
            matrix=matrix,
        )
        try:
            written = export_result(
                result, folder, overwrite=overwrite, make_folder=True, **options
            )
        except ExistingFilesError as exc:
            if overwrite or not ask_overwrite(parent, exc.paths):
                state.notify("Export cancelled: no file was written.", error=False)
                return None
            written = export_result(result, folder, overwrite=True, make_folder=True, **options)
    except ValueError as exc:
        state.notify(f"Export failed, nothing was written: {exc}")
        return None
    stored.set_folder_for(state.settings, "export", str(Path(folder).resolve()))
    state.notify(f"Exported {len(written)} files to {Path(folder).resolve()}", error=False)
    state.announce_export(Path(folder).resolve())
    return written


def make_export_dialog(
    state: AppState,
    panels: PanelGrid,
    parent: QtWidgets.QWidget | None = None,
    *,
    run: bool = False,
) -> ExportDialog:
    """The export dialog, filled with the current panels and the remembered choices.

    With ``run``, its Export button exports (:func:`export_to`): the dialog closes on
    success and otherwise stays open with the message, so another folder can be tried.
    """

    def export(choices: ExportChoices) -> str | None:
        stored.set_export_choices(state.settings, choices.to_settings())
        written = export_to(
            state,
            panels,
            choices.folder,
            names=choices.panels,
            formats=choices.formats,
            figure=choices.figure,
            parent=dialog,
            matrix=choices.matrix,
        )
        return None if written is not None else (state.last_message or "Nothing was exported.")

    dialog = ExportDialog(
        stored.folder_for(state.settings, "export"),
        available_panels(state, panels),
        stored.export_choices(state.settings),
        parent=parent,
        run=export if run else None,
    )
    return dialog


def export_with_dialog(
    state: AppState, panels: PanelGrid, parent: QtWidgets.QWidget | None = None
) -> bool:
    """File → Export…: the dialog, which exports and stays open until that succeeds.

    True when files were written (False: cancelled, or nothing to export).
    """
    if state.result is None:
        state.notify("Nothing to export yet: wait until the panels show a result.")
        return False
    dialog = make_export_dialog(state, panels, parent, run=True)
    return run_once(dialog) == QtWidgets.QDialog.DialogCode.Accepted
