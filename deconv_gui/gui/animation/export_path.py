"""The file dialog of the animation's Export button (remembers the last path)."""

from __future__ import annotations

from pathlib import Path

from qtpy import QtCore, QtWidgets

from ...io.video import mp4_available

__all__ = ["ask_export_path"]

_KEY = "animation/export_path"


def ask_export_path(parent: QtWidgets.QWidget, settings: QtCore.QSettings) -> str | None:
    """Ask where to write the animation (.gif, or .mp4 when it can be written); None: cancelled."""
    start = str(settings.value(_KEY, str(Path.home() / "steps.gif")))
    filters = "GIF animation (*.gif)" + (";;MP4 video (*.mp4)" if mp4_available() else "")
    path, _ = QtWidgets.QFileDialog.getSaveFileName(parent, "Export the animation", start, filters)
    if not path:
        return None
    settings.setValue(_KEY, path)
    return path
