"""The main window's title: what is open, then the application's name.

``photo.png — Deconvolution Explorer``: the session file last opened or saved while its
image is the input, else the input image (a file's name, a sample's, ``pasted image``, a
model layer's ``photo.png through net.onnx``). Another image opened after a session
makes the title name that image: the window no longer shows the session's. The window
does not track unsaved changes, so the title has no ``[*]`` modified marker.
"""

from __future__ import annotations

from pathlib import Path

from qtpy import QtCore, QtWidgets

from ..state import AppState, ImageOrigin

__all__ = ["APP_NAME", "WindowTitle", "window_title"]

#: The application's name, last in every title.
APP_NAME = "Deconvolution Explorer"

# how the title names pixels that came from no file
_ARRAY_NAMES = {"clipboard": "pasted image", "dropped image": "dropped image"}


def window_title(name: str) -> str:
    """The title for what is open (``name``; "" for nothing).

    Examples
    --------
    >>> window_title("run.deconv.json")
    'run.deconv.json — Deconvolution Explorer'
    >>> window_title("")
    'Deconvolution Explorer'
    """
    return f"{name} — {APP_NAME}" if name else APP_NAME


def _origin_key(origin: ImageOrigin) -> tuple[str, object]:
    """What tells two origins apart: a file's path, a sample's name, pasted pixels' array
    (the same at another work size: the image was loaded again, not replaced)."""
    if origin.kind == "array" and isinstance(origin.value, tuple) and origin.value:
        return origin.kind, id(origin.value[0])
    return origin.kind, str(origin.value)


class WindowTitle(QtCore.QObject):
    """Keeps ``window``'s title on what is open (see the module's docstring).

    Parameters
    ----------
    window : QWidget
        The window whose title is set.
    state : AppState
        Its image and origin name the input; ``imageChanged`` updates the title.
    """

    def __init__(self, window: QtWidgets.QWidget, state: AppState) -> None:
        super().__init__(window)
        self._window, self._state = window, state
        #: the session's file name and the origin of the image it was opened or saved with
        self._session: tuple[str, tuple[str, object]] | None = None
        state.imageChanged.connect(self.refresh)
        self.refresh()

    def name_session(self, path: str | Path) -> None:
        """A session file was opened or saved: the title names it while its image stays."""
        self._session = (Path(path).name, _origin_key(self._state.origin))
        self.refresh()

    def name(self) -> str:
        """What the title names ("" before any image)."""
        state = self._state
        if self._session is not None and self._session[1] == _origin_key(state.origin):
            return self._session[0]
        source = state.source
        if source is None:
            return ""
        if state.origin.kind == "file":
            return Path(source.source).name
        return _ARRAY_NAMES.get(source.source, source.source)

    def refresh(self, _image: object = None) -> None:
        """Show the title of what is open now."""
        self._window.setWindowTitle(window_title(self.name()))
