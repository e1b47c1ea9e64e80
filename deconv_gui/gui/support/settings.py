"""What the window remembers between runs (``QSettings``): layout, recent files, last settings.

:func:`save_window` and :func:`restore_window` take the main window without importing
its class (it imports this module): they use its public widgets and its ``state``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from qtpy import QtCore

from ...core import Params
from ...io.session import dumps_json

__all__ = [
    "MAX_RECENT",
    "add_recent",
    "export_choices",
    "folder_for",
    "last_directory",
    "make_settings",
    "recent_files",
    "restore_window",
    "save_window",
    "set_export_choices",
    "set_folder_for",
]

log = logging.getLogger("deconv_gui")
MAX_RECENT = 8


def make_settings() -> QtCore.QSettings:
    """The user's settings file (INI, so tests can redirect it with ``QSettings.setPath``)."""
    return QtCore.QSettings(
        QtCore.QSettings.Format.IniFormat,
        QtCore.QSettings.Scope.UserScope,
        "deconv-gui",
        "deconv-gui",
    )


def recent_files(settings: QtCore.QSettings) -> list[str]:
    """Recently opened files that still exist, newest first."""
    value = settings.value("recent_files", [])
    paths = [value] if isinstance(value, str) else list(value or [])
    return [p for p in paths if Path(p).is_file()][:MAX_RECENT]


def add_recent(settings: QtCore.QSettings, path: str) -> None:
    """Put ``path`` at the top of the recent files."""
    paths = [p for p in recent_files(settings) if p != path]
    settings.setValue("recent_files", [path, *paths][:MAX_RECENT])
    settings.setValue("last_directory", str(Path(path).parent))


def last_directory(settings: QtCore.QSettings) -> str:
    """The folder of the last opened file (or the home folder)."""
    return str(settings.value("last_directory", str(Path.home())))


def folder_for(settings: QtCore.QSettings, purpose: str) -> str:
    """The folder last used for ``purpose`` ("export", "session", "code"...), if it still exists.

    Falls back to the folder of the last opened image, then the home folder.
    """
    value = settings.value(f"folders/{purpose}")
    if isinstance(value, str) and value and Path(value).is_dir():
        return value
    return last_directory(settings)


def set_folder_for(settings: QtCore.QSettings, purpose: str, folder: str | Path) -> None:
    """Remember ``folder`` for ``purpose`` (see :func:`folder_for`)."""
    settings.setValue(f"folders/{purpose}", str(folder))


def export_choices(settings: QtCore.QSettings) -> dict:
    """The last export dialog's choices: ``{"panels": [...], "formats": [...], "figure": bool}``.

    Empty when nothing (valid) was stored.
    """
    try:
        value = json.loads(str(settings.value("export/choices", "{}")))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def set_export_choices(settings: QtCore.QSettings, choices: dict) -> None:
    """Remember the export dialog's choices (JSON-serialisable)."""
    settings.setValue("export/choices", json.dumps(choices))


def _bool(value: object) -> bool:
    return value in (True, "true", "1", 1)


def save_window(window: Any) -> None:
    """Store the window layout, the view toggles and the current settings."""
    s = window.settings
    try:
        s.setValue("window/geometry", window.saveGeometry())
        s.setValue("window/state", window.saveState())
        s.setValue("view/layout", window.panels.layout_mode)
        s.setValue("view/shared_levels", window.panels.shared_levels)
        s.setValue("view/scaling", window.panels.scaling)
        kind, value = window.state.origin
        s.setValue("last/origin_kind", kind if kind in ("sample", "file") else "sample")
        s.setValue("last/origin", str(value) if kind in ("sample", "file") else "astronaut")
        s.setValue("last/work_size", json.dumps(window.image_controls.work_size()))
        # the same serializer as session files, so every Params field is stored
        s.setValue("last/params", dumps_json(window.current_params().to_dict()))
        s.setValue("last/preset", window.filter_editor.preset())
        s.setValue("last/same_in_all", window.filter_editor.same_in_all_channels())
        for old in ("last/weights", "last/bias", "last/geometry", "last/recon"):
            s.remove(old)  # written field by field by earlier versions
        s.sync()
    except Exception:  # settings must never stop the app from closing
        log.exception("could not save the settings")


def restore_window(window: Any, *, restore_last: bool = True) -> None:
    """Restore what :func:`save_window` stored; bad or missing values are skipped.

    With ``restore_last=False`` nothing is restored (reproducible screenshots).
    """
    if not restore_last:
        return
    s = window.settings
    try:
        geometry = s.value("window/geometry")
        if isinstance(geometry, QtCore.QByteArray):
            window.restoreGeometry(geometry)
        state = s.value("window/state")
        if isinstance(state, QtCore.QByteArray):
            window.restoreState(state)
        if s.value("view/layout") == "row":
            window.menu_actions.layout_row.setChecked(True)
        if _bool(s.value("view/shared_levels", False)):
            window.menu_actions.shared_levels.setChecked(True)
        if s.value("view/scaling") == "auto":
            window.menu_actions.scaling_auto.setChecked(True)
        if s.contains("last/params"):
            params = Params.from_dict(json.loads(str(s.value("last/params"))))
            preset = str(s.value("last/preset", "custom"))
            same = s.value("last/same_in_all")
            if same is not None:  # before the weights: ticking it would copy channel R
                window.filter_editor.set_same_in_all_channels(_bool(same))
            window.apply_params(params, preset)  # the Insight panels included
        if s.contains("last/work_size"):
            window.image_controls.set_work_size(json.loads(s.value("last/work_size")))
        kind, origin = s.value("last/origin_kind"), s.value("last/origin")
        if kind == "file" and origin and Path(origin).is_file():
            window.load_path(origin)
        elif kind == "sample" and origin:
            window.load_sample(str(origin))
    except Exception:  # a corrupt settings file must not stop the app from starting
        log.exception("could not restore the settings; using the defaults")
