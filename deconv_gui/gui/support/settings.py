"""What the window remembers between runs (``QSettings``): layout, recent files, last document.

The last settings are the window's :class:`~deconv_gui.document.Document`, stored as
its ``to_dict()`` JSON under ``last/document`` and shown again with
``Document.from_dict`` (settings written by earlier versions, one key per choice, are
read through the document's migration). :func:`save_window` and :func:`restore_window`
take the main window without importing its class (it imports this module): they use
its ``sync`` (:class:`~deconv_gui.gui.actions.document.DocumentSync`), its ``state``
and a few of its methods.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from qtpy import QtCore, QtWidgets

from ...document import Document
from ...io.session import dumps_json

__all__ = [
    "MAX_RECENT",
    "add_recent",
    "ask_file_to_open",
    "export_choices",
    "folder_for",
    "last_directory",
    "make_settings",
    "recent_files",
    "restore_window",
    "save_window",
    "set_export_choices",
    "set_folder_for",
    "stored_document",
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


def ask_file_to_open(
    parent: QtWidgets.QWidget | None,
    settings: QtCore.QSettings,
    title: str,
    filters: str,
    purpose: str = "",
) -> str:
    """Ask for a file to open, starting in the folder last used for ``purpose`` (see
    :func:`folder_for`; none: the last opened image's); "" when cancelled."""
    start = folder_for(settings, purpose) if purpose else last_directory(settings)
    path, _ = QtWidgets.QFileDialog.getOpenFileName(parent, title, start, filters)
    return path


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


#: Keys of earlier versions (one per choice), read once and then removed.
_LEGACY_KEYS = (
    "last/params",
    "last/preset",
    "last/same_in_all",
    "last/origin_kind",
    "last/origin",
    "last/work_size",
    "view/layout",
    "view/shared_levels",
    "view/scaling",
    "last/weights",
    "last/bias",
    "last/geometry",
    "last/recon",
)


def save_window(window: Any) -> None:
    """Store the window layout and the window's document."""
    s = window.settings
    try:
        s.setValue("window/geometry", window.saveGeometry())
        s.setValue("window/state", window.saveState())
        try:
            document = window.sync.read()
        except ValueError:  # invalid settings in a form: the last valid document
            document = window.state.document
        s.setValue("last/document", dumps_json(document.to_dict()))
        for old in _LEGACY_KEYS:
            s.remove(old)
        s.sync()
    except Exception:  # settings must never stop the app from closing
        log.exception("could not save the settings")


def _legacy_document(s: QtCore.QSettings) -> Document | None:
    """The document of settings stored one key per choice (earlier versions), or None."""
    if not s.contains("last/params"):
        return None
    kind = s.value("last/origin_kind")
    display: dict[str, object] = {}
    if s.value("view/layout") in ("grid", "row"):
        display["layout"] = s.value("view/layout")
    if s.contains("view/shared_levels"):
        display["shared_levels"] = _bool(s.value("view/shared_levels"))
    if s.value("view/scaling") in ("clip", "auto"):
        display["scaling"] = s.value("view/scaling")
    extra: dict[str, object] = {
        "image_kind": kind if kind in ("sample", "file") else "sample",
        "filter_preset": str(s.value("last/preset", "custom")),
        "display": display,
    }
    if s.value("last/same_in_all") is not None:
        extra["same_in_all"] = _bool(s.value("last/same_in_all"))
    old = {
        "version": 1,
        "image": {"source": str(s.value("last/origin", "astronaut"))},
        "params": json.loads(str(s.value("last/params"))),
        "extra": extra,
    }
    if s.contains("last/work_size"):
        old["work_size"] = json.loads(str(s.value("last/work_size")))
    return Document.from_dict(old)


def stored_document(settings: QtCore.QSettings) -> Document | None:
    """The document stored by :func:`save_window` (or by an earlier version), or None.

    Raises
    ------
    ValueError
        When the stored document cannot be read (the caller keeps its defaults).
    """
    if settings.contains("last/document"):
        return Document.from_json(str(settings.value("last/document")))
    return _legacy_document(settings)


def restore_window(window: Any, *, restore_last: bool = True) -> None:
    """Restore what :func:`save_window` stored; a bad or missing document is skipped.

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
        document = stored_document(s)
        if document is None:
            return
        window.sync.show(document)  # all of it, or nothing
        image, model, why = document.image, document.layer.model, ""
        if model is not None:  # a model's layer reads what the model feeds it: run it again
            if window.restore_model_study(document):
                return
            image = model.image  # the model is gone: its image, under the layer's filter
            why = window.state.last_message  # kept in the image's "Loaded …" line
        window.image_controls.set_work_size(image.work_size)
        if image.kind == "file" and Path(image.source).is_file():
            window.status_widgets.note_next_load(why)
            window.load_path(image.source)
        elif image.kind == "sample":
            window.status_widgets.note_next_load(why)
            window.load_sample(image.source)
    except Exception as exc:  # a corrupt settings file must not stop the app from starting
        log.exception("could not restore the settings; using the defaults")
        text = " ".join(str(exc).split()) or type(exc).__name__
        window.state.notify(f"Could not restore the last settings (the defaults are used): {text}")
