"""The main window's title: what is open, then the application's name, and whether it
has unsaved changes.

``photo.png — Deconvolution Explorer``: the session file last opened or saved while its
image is the input, else the input image (a file's name, a sample's, ``pasted image``, a
model layer's ``photo.png through net.onnx``, however that layer was opened: File → Open
model, ``--model``, or the remembered settings). Another image opened after a session
makes the title name that image: the window no longer shows the session's.

Qt's ``[*]`` placeholder follows the name: ``photo.png* — …`` while the window's
document differs from the one last saved or opened as a session, or, without one, from
the window as it was when its image was loaded (at launch, or when another image or a
model's layer was opened). The states are compared, not counted: undoing back to the
saved state clears the marker again. A long file name loses its middle, never its
extension (window managers cut a title's end).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from qtpy import QtCore, QtWidgets

from ..state import AppState, ImageOrigin
from ..support.elided import NAME_JOINS

if TYPE_CHECKING:
    from .history import EditHistory
    from .snapshot import Snapshot

__all__ = ["APP_NAME", "NAME_CHARS", "WindowTitle", "elide_name", "shown_title", "window_title"]

#: The application's name, last in every title.
APP_NAME = "Deconvolution Explorer"
#: The most characters of one file name in the title (the rest of its middle is "…").
NAME_CHARS = 40

# how the title names pixels that came from no file
_ARRAY_NAMES = {"clipboard": "pasted image", "dropped image": "dropped image"}


def elide_name(name: str, limit: int = NAME_CHARS) -> str:
    """``name`` in at most ``limit`` characters: its middle replaced by "…", its start
    and its extension kept.

    Examples
    --------
    >>> elide_name("holiday_photo_from_the_mountains_in_summer_2024_final.png", 30)
    'holiday_photo_from_t…final.png'
    >>> elide_name("short.png", 30)
    'short.png'
    """
    if len(name) <= limit:
        return name
    suffix = Path(name).suffix
    tail = min(max(len(suffix), (limit - 1) // 3), limit - 2)
    return f"{name[: limit - 1 - tail]}…{name[len(name) - tail :]}"


def window_title(name: str) -> str:
    """The title for what is open (``name``; "" for nothing), with Qt's ``[*]``
    placeholder of the unsaved-changes marker; each file name in ``name`` is elided
    (:func:`elide_name`).

    Examples
    --------
    >>> window_title("run.deconv.json")
    'run.deconv.json[*] — Deconvolution Explorer'
    >>> window_title("")
    'Deconvolution Explorer[*]'
    """
    if not name:
        return f"{APP_NAME}[*]"
    parts = NAME_JOINS.split(name)  # the joining words at the odd places
    short = "".join(p if i % 2 else elide_name(p) for i, p in enumerate(parts))
    return f"{short}[*] — {APP_NAME}"


def shown_title(window: QtWidgets.QWidget) -> str:
    """``window``'s title as Qt shows it: ``[*]`` is ``*`` while it is modified, else gone."""
    mark = "*" if window.isWindowModified() else ""
    return window.windowTitle().replace("[*]", mark)


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
        #: the session's file name, the origin of the image it was opened or saved with,
        #: and the state then (None until tracked)
        self._session: tuple[str, tuple[str, object], Snapshot | None] | None = None
        self._history: EditHistory | None = None
        #: the state at launch or after the last image loaded, and that image's origin
        self._start: tuple[Snapshot | None, tuple[str, object]] = (None, _origin_key(state.origin))
        self._new_start = False
        state.imageChanged.connect(self.refresh)
        state.imageChanged.connect(self._image_changed)
        self.refresh()

    def track(self, history: EditHistory) -> None:
        """Mark the title modified while ``history``'s state differs from the saved one;
        the state now is the start."""
        self._history = history
        history.settled.connect(self._settled)
        self.restart()

    def _capture(self) -> Snapshot | None:
        return None if self._history is None else self._history.capture()

    def restart(self) -> None:
        """The state now is the start (as at launch): no unsaved changes."""
        self._start = (self._capture(), _origin_key(self._state.origin))
        self._new_start = False
        self._window.setWindowModified(False)

    def modified(self) -> bool:
        """Whether the window's state differs from the session's (while the title names
        it) or from the start."""
        session = self._session
        named = session is not None and session[1] == _origin_key(self._state.origin)
        saved = session[2] if session is not None and named else self._start[0]
        now = self._capture()
        return saved is not None and now is not None and now != saved

    def _image_changed(self, _image: object) -> None:
        # another image (a file, a sample, a model's layer) loaded, not a step undone
        history = self._history
        if history is not None and not history.showing:
            self._new_start = _origin_key(self._state.origin) != self._start[1]
            if self._new_start:  # restarted once what comes with the load is recorded
                self._window.setWindowModified(False)

    def _settled(self) -> None:
        if self._new_start:  # what the load changed with it (the filter refitted) too
            self.restart()
        self._window.setWindowModified(self.modified())

    def name_session(self, path: str | Path) -> None:
        """A session file was opened or saved: the title names it while its image stays,
        with no unsaved changes."""
        self._session = (Path(path).name, _origin_key(self._state.origin), self._capture())
        self.restart()
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
