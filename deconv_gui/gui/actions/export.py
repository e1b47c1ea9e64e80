"""The window side of File → Export…: capture what is shown and hand it to :func:`export_result`.

All the writing (atomic, all or nothing, refusing existing files) happens in
:func:`deconv_gui.io.export.export_result`; here we only collect the displayed pixels,
the comparison figure and the display options, and turn errors into messages.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PyQt5 import QtWidgets

from ...io.export import EXPORT_FORMATS, ExistingFilesError, export_result, panel_arrays
from ..panels.capture import comparison_figure, displayed_pixels, panel_levels
from ..support import settings as stored

if TYPE_CHECKING:
    from ..main_window import MainWindow

__all__ = [
    "EXPORT_TO_PANEL",
    "ask_overwrite",
    "available_panels",
    "display_options",
    "export_to",
    "window_panel",
]

#: Export panel names (files) that differ from the window's panel names.
EXPORT_TO_PANEL: dict[str, str] = {"forward_output": "forward"}


def window_panel(window: MainWindow, name: str):
    """The window's :class:`~deconv_gui.gui.panels.grid.ImagePanel` for export panel ``name``.

    None when the window has no such panel (its PNG is then rendered with default
    levels by :func:`~deconv_gui.io.render.render_array`).
    """
    gui_name = EXPORT_TO_PANEL.get(name, name)
    return window.panels.panels.get(gui_name)


def available_panels(window: MainWindow) -> list[tuple[str, str]]:
    """``(export name, title)`` of every panel the current result has."""
    if window.result is None:
        return []
    out = []
    for name in panel_arrays(window.result):
        panel = window_panel(window, name)
        out.append((name, name if panel is None else panel.title_text))
    return out


def display_options(window: MainWindow, names: Iterable[str] | None = None) -> dict[str, Any]:
    """How the panels are drawn: scaling, shared levels, layout, and per panel levels/colormap.

    Recorded under ``extra`` in ``params.json`` (and in sessions, without the levels).
    """
    grid = window.panels
    out: dict[str, Any] = {
        "scaling": grid.scaling,
        "shared_levels": bool(grid.shared_levels),
        "layout": grid.layout_mode,
        "forward_channel": int(grid.forward_channel),
    }
    if names is not None:
        panels = {}
        for name in names:
            panel = window_panel(window, name)
            if panel is None:
                continue
            spec = panel.spec
            panels[name] = {
                "levels": panel_levels(panel),
                "colormap": None if spec is None else spec.colormap,
                "note": "" if spec is None else spec.note,
            }
        out["panels"] = panels
    return out


def ask_overwrite(window: MainWindow, paths: list[Path]) -> bool:
    """Ask "Overwrite N files?" listing (the first few of) them; True on Yes."""
    shown = "\n".join(p.name for p in paths[:12]) + ("\n…" if len(paths) > 12 else "")
    answer = QtWidgets.QMessageBox.question(
        window,
        "Overwrite files?",
        f"Overwrite {len(paths)} file{'s' if len(paths) != 1 else ''} in "
        f"{paths[0].parent}?\n\n{shown}",
        QtWidgets.QMessageBox.Yes | QtWidgets.QMessageBox.No,
        QtWidgets.QMessageBox.No,
    )
    return answer == QtWidgets.QMessageBox.Yes


def export_to(
    window: MainWindow,
    folder: str | Path,
    *,
    panels: Iterable[str] | None = None,
    formats: Iterable[str] = EXPORT_FORMATS,
    figure: bool = True,
    overwrite: bool = False,
) -> list[Path] | None:
    """Export the current result into ``folder``; see :meth:`MainWindow.export_to`."""
    result = window.result
    if result is None:
        window.show_message("Nothing to export yet: wait until the panels show a result.")
        return None
    names = list(panel_arrays(result)) if panels is None else list(panels)
    formats = tuple(formats)
    if not names:
        window.show_message("Choose at least one panel to export.")
        return None
    try:
        displayed, pictures = {}, []
        for name in names:
            panel = window_panel(window, name)
            pixels = None if panel is None else displayed_pixels(panel)
            if pixels is not None:
                displayed[name] = pixels
                note = "" if panel.spec is None else panel.spec.note
                pictures.append((panel.title_text, note, pixels))
        figures = comparison_figure(pictures) if figure and pictures else None
        options = dict(
            displayed=displayed,
            image_source=window.loaded,
            panels=names,
            formats=formats,
            figures=figures,
            extra={"display": display_options(window, names)},
        )
        try:
            written = export_result(result, folder, overwrite=overwrite, **options)
        except ExistingFilesError as exc:
            if overwrite or not ask_overwrite(window, exc.paths):
                window.show_message("Export cancelled: no file was written.", error=False)
                return None
            written = export_result(result, folder, overwrite=True, **options)
    except ValueError as exc:
        window.show_message(f"Export failed, nothing was written: {exc}")
        return None
    stored.set_folder_for(window.settings, "export", str(Path(folder).resolve()))
    window.show_message(f"Exported {len(written)} files to {Path(folder).resolve()}", error=False)
    window.offer_open_folder(Path(folder).resolve())
    return written
