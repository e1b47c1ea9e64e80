"""Where the input image comes from: samples, files, the clipboard, drops, recent files.

:class:`ImageActions` loads an image (through :mod:`deconv_gui.io`, which does every
conversion) and puts it into the :class:`~deconv_gui.gui.state.AppState` with its
origin, so that a new work size can load it again. Files load off the GUI thread
(:class:`~.loading.ImageLoader`); failures are told to the user through the state and
keep the previous image.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import cast

import numpy as np
from qtpy import QtCore, QtGui, QtWidgets

from ...io import (
    FILE_EXTENSIONS,
    LoadedImage,
    apply_work_size,
    convert_image,
    load_image,
    load_sample,
)
from ...io.session import SESSION_SUFFIX
from ..state import AppState, ImageOrigin
from ..support import settings as stored
from ..support.qimage import qimage_to_array
from ..support.qthelp import nonnull
from .loading import ImageLoader

__all__ = ["FILE_FILTER", "ImageActions"]

FILE_FILTER = "Images ({});;All files (*)".format(" ".join(f"*{e}" for e in FILE_EXTENSIONS))


class ImageActions(QtCore.QObject):
    """Load images into ``state``.

    Parameters
    ----------
    state : AppState
        Receives the image and its origin; messages go through it.
    work_size : callable
        Returns the long side images are resized to (None: original size).
    open_session : callable
        Opens a ``*.deconv.json`` file that was dropped or pasted; returns success.
    parent : QWidget
        The parent of the file dialog.
    """

    def __init__(
        self,
        state: AppState,
        work_size: Callable[[], int | None],
        open_session: Callable[[str], bool],
        parent: QtWidgets.QWidget,
    ) -> None:
        super().__init__(parent)
        self._state = state
        self._work_size = work_size
        self._open_session = open_session
        self._parent = parent
        #: runs every load: files off the GUI thread, the newest load winning
        self.loader = ImageLoader(state, parent)
        self.loader.finished.connect(self._on_load_finished)

    @property
    def busy(self) -> bool:
        """True while an image loads in the background."""
        return self.loader.busy

    def load_sample(self, name: str) -> bool:
        """Load a built-in sample at the current work size (small: in the GUI thread)."""
        work_size = self._work_size()
        return self.loader.run_now(
            name,
            lambda _cancel, _progress: load_sample(name, work_size),
            lambda loaded: self._state.set_image(loaded, ImageOrigin("sample", name)),
            "Could not load sample",
        )

    def load_path(self, path: str | Path) -> bool:
        """Start loading an image file off the GUI thread (True: started).

        The image replaces the current one when it is loaded; a failure says why and
        keeps the previous image. A load started later (another file, a sample) wins.
        """
        work_size = self._work_size()

        def job(cancel: threading.Event, progress: Callable[[object], None]) -> LoadedImage:
            report = lambda fraction, stage: progress((fraction, stage))  # noqa: E731
            return load_image(path, work_size, progress=report, cancel=cancel)

        self.loader.start(
            Path(path).name,
            job,
            lambda loaded: self.use(loaded, ImageOrigin("file", str(path))),
            "Could not open the image (previous image kept)",
        )
        return True

    def work_size(self) -> int | None:
        """The long side images are loaded at (None: their own size)."""
        return self._work_size()

    def use(self, loaded: LoadedImage, origin: ImageOrigin) -> None:
        """Make a loaded image the input (a file's is added to the recent files)."""
        if origin.kind == "file":
            stored.add_recent(self._state.settings, str(Path(str(origin.value)).resolve()))
        self._state.set_image(loaded, origin)

    def _on_load_finished(self, taken: bool) -> None:
        if not taken and self._state.image is None:  # the file restored at start-up failed
            self.load_sample("astronaut")

    def load_array(self, raw: np.ndarray, source: str) -> bool:
        """Use in-memory pixels (clipboard, drop); converted like a file."""
        return self._use_pixels(raw, source, None)

    def _use_pixels(self, raw: np.ndarray, source: str, note: str | None) -> bool:
        """Pixels held in memory as the input (``note`` None: convert ``raw`` first)."""
        work_size = self._work_size()

        def job(_cancel: threading.Event, _progress: object) -> tuple[LoadedImage, ImageOrigin]:
            pixels, how = convert_image(raw) if note is None else (raw, note)
            origin = ImageOrigin("array", (pixels, source, how))
            shrunk, resized = apply_work_size(pixels, work_size)
            return LoadedImage(shrunk, source, how + resized), origin

        return self.loader.run_now(
            source,
            job,
            lambda image_origin: self._state.set_image(*image_origin),
            "Could not use the image (previous image kept)",
        )

    def reload(self) -> None:
        """Load the current image again from its origin (after a work-size change)."""
        kind, value = self._state.origin
        if kind == "sample":
            self.load_sample(str(value))
        elif kind == "file":
            self.load_path(str(value))
        elif kind == "array":
            pixels, source, note = cast("tuple[np.ndarray, str, str]", value)
            self._use_pixels(pixels, source, note)

    def open_dialog(self) -> None:
        """File → Open: pick an image file."""
        settings = self._state.settings
        path = stored.ask_file_to_open(self._parent, settings, "Open image", FILE_FILTER)
        if path:
            self.load_path(path)

    def paste(self) -> bool:
        """Edit → Paste: use the clipboard's image (or an image file path on it)."""
        mime = nonnull(QtWidgets.QApplication.clipboard(), "clipboard").mimeData()
        return self.load_mime(mime, "clipboard")

    def load_mime(self, mime: QtCore.QMimeData | None, source: str) -> bool:
        """Load what was pasted or dropped: a file (image or session), an image, a path."""
        if mime is not None and mime.hasUrls():
            for url in mime.urls():
                if url.isLocalFile():
                    path = url.toLocalFile()
                    if path.lower().endswith(SESSION_SUFFIX):
                        return self._open_session(path)
                    return self.load_path(path)
        if mime is not None and mime.hasImage():
            try:
                raw = qimage_to_array(QtGui.QImage(mime.imageData()))
            except ValueError as exc:
                self._state.notify(str(exc))
                return False
            return self.load_array(raw, source)
        if mime is not None and mime.hasText() and Path(mime.text().strip()).is_file():
            return self.load_path(mime.text().strip())
        self._state.notify(f"The {source} holds no image.", error=False)
        return False

    def accept_drops_on(self, widget: QtWidgets.QWidget) -> None:
        """Load image files, session files and images dropped on ``widget``."""
        widget.setAcceptDrops(True)
        widget.installEventFilter(self)

    def eventFilter(self, watched: QtCore.QObject | None, event: QtCore.QEvent | None) -> bool:
        if isinstance(event, QtGui.QDragEnterEvent):
            mime = event.mimeData()
            if mime is not None and (mime.hasImage() or any(u.isLocalFile() for u in mime.urls())):
                event.acceptProposedAction()
            return True
        if event is not None and event.type() == QtCore.QEvent.Type.Drop:
            assert isinstance(event, QtGui.QDropEvent)
            event.acceptProposedAction()
            self.load_mime(event.mimeData(), "dropped image")
            return True
        return super().eventFilter(watched, event)

    def fill_recent_menu(self, menu: QtWidgets.QMenu) -> None:
        """Rebuild File → Open recent from the settings."""
        menu.clear()
        for path in stored.recent_files(self._state.settings):
            action = nonnull(menu.addAction(Path(path).name))
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, p=path: self._open_recent(p))
        if menu.isEmpty():
            nonnull(menu.addAction("(no recent files)")).setEnabled(False)

    def _open_recent(self, path: str) -> None:
        self.load_path(path)
