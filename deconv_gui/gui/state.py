"""The application state: what the window shows, in one object with change signals.

:class:`AppState` holds the facts that several parts of the window need: the window's
:class:`~deconv_gui.document.Document` (what the widgets show: layers, the image's
origin, display choices), the image pixels (and how to load them again), the
parameters last computed, the result on screen, whether a
computation is running, and the user's settings. Actions, menus, insight views and
dialogs receive the state (and, where they must act on widgets, a few narrow callbacks)
instead of the window, so none of them imports the window and the package has no
import cycles. Each fact has one kind of writer: the image and its origin the image,
model and history actions (:meth:`AppState.set_image`), the network built by hand the
layer under study's input (:meth:`AppState.refresh_input`), the params, result and busy
flag the live updates (:class:`~deconv_gui.gui.live.LiveUpdates`), the loading flag the
image loader; everything else reads them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from qtpy import QtCore

from ..core import Params, Result
from ..document import Document
from ..io import LoadedImage

__all__ = ["AppState", "ImageOrigin"]


class ImageOrigin(NamedTuple):
    """Where the current image came from, so it can be loaded again at another work size.

    Attributes
    ----------
    kind : str
        ``"sample"`` (``value`` is the sample's name), ``"file"`` (``value`` is the
        path) or ``"array"`` (pasted or dropped pixels: ``value`` is
        ``(pixels, source, note)``).
    value : object
        See ``kind``.
    """

    kind: str
    value: object

    @property
    def path(self) -> str:
        """The file's path for ``"file"`` origins, else ``""``."""
        return str(self.value) if self.kind == "file" else ""


class AppState(QtCore.QObject):
    """Image, params, result and busy flag of one window, with a signal for each change.

    Parameters
    ----------
    settings : QSettings
        Where the user's choices live (recent files, folders, last settings).
    parent : QObject, optional
        The Qt parent (the window).

    Signals
    -------
    imageChanged(object)
        A new :class:`~deconv_gui.io.LoadedImage` is the input of the layer under study:
        the image itself, or (a layer of a network built by hand) what the layers before
        it make of it.
    paramsChanged(object)
        The :class:`~deconv_gui.core.Params` of the newest computation.
    resultChanged(object)
        A :class:`~deconv_gui.core.Result` is on screen (every panel drawn).
    metricsCompleted(object)
        The result on screen got its slower metrics (SSIM): the completed result.
    loadingChanged(bool)
        An image (or a session's image) started loading (True), or that load ended.
    busyChanged(bool)
        A computation started (True) or the newest one is on screen, failed or was
        cancelled (False).
    messageRequested(str, bool)
        Something to tell the user; the flag is True for errors.
    exported(object)
        Files were written into a folder (a :class:`~pathlib.Path`).
    """

    imageChanged = QtCore.Signal(object)
    paramsChanged = QtCore.Signal(object)
    resultChanged = QtCore.Signal(object)
    metricsCompleted = QtCore.Signal(object)
    busyChanged = QtCore.Signal(bool)
    loadingChanged = QtCore.Signal(bool)
    messageRequested = QtCore.Signal(str, bool)
    exported = QtCore.Signal(object)

    def __init__(self, settings: QtCore.QSettings, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        #: the window's state (layers, image origin, display): the widgets mirror it
        self.document = Document()
        #: the input of the layer under study (:attr:`source`, or what the layers of the
        #: document before it make of it: :attr:`input_of`)
        self.image: LoadedImage | None = None
        #: the image as loaded (the first layer's input), and where it came from
        self.source: LoadedImage | None = None
        self.origin = ImageOrigin("sample", "astronaut")
        #: the layer under study's input for an image: the image itself unless the
        #: document's chain says otherwise (the window installs the chain's)
        self.input_of: Callable[[LoadedImage], LoadedImage] = lambda image: image
        self.params: Params | None = None
        self.result: Result | None = None
        self._completed_from: Result | None = None
        self.busy = False
        #: True while an image loads off the GUI thread (a new image will come)
        self.loading = False
        #: the last message shown to the user (tests and the session actions read it)
        self.last_message = ""

    # -- writers (see the module's docstring) -----------------------------------------------
    def set_image(self, image: LoadedImage, origin: ImageOrigin) -> None:
        """Make ``image`` the source (``origin`` says how to load it again) and its
        :attr:`input_of` the input."""
        self.source = image
        self.origin = origin
        self.image = self.input_of(image)
        self.imageChanged.emit(self.image)

    def refresh_input(self) -> bool:
        """The layer under study changed: its input again from the source (True when it
        is another image, announced by ``imageChanged``)."""
        if self.source is None:
            return False
        image = self.input_of(self.source)
        if image is self.image:
            return False
        self.image = image
        self.imageChanged.emit(image)
        return True

    def set_params(self, params: Params) -> None:
        """Record the parameters of the newest computation."""
        self.params = params
        self.paramsChanged.emit(params)

    def set_result(self, result: Result) -> None:
        """``result`` is on screen."""
        self.result = result
        self._completed_from = None
        self.resultChanged.emit(result)

    def complete_result(self, source: Result, completed: Result) -> bool:
        """``completed`` (``source`` with its slower metrics) replaces ``source`` on screen.

        Returns False, and changes nothing, when ``source`` is no longer on screen.
        """
        if source is not self.result:
            return False
        self._completed_from = source
        self.result = completed
        self.metricsCompleted.emit(completed)
        return True

    def is_shown(self, result: Result | None) -> bool:
        """True if ``result`` is on screen, or the result whose metrics completed it is."""
        return result is not None and (result is self.result or result is self._completed_from)

    def set_busy(self, busy: bool) -> None:
        """Whether a computation is running (emits only on a change)."""
        if bool(busy) != self.busy:
            self.busy = bool(busy)
            self.busyChanged.emit(self.busy)

    def set_loading(self, loading: bool) -> None:
        """Whether an image is loading (emits only on a change)."""
        if bool(loading) != self.loading:
            self.loading = bool(loading)
            self.loadingChanged.emit(self.loading)

    # -- for everyone -----------------------------------------------------------------------
    def notify(self, text: str, error: bool = True) -> None:
        """Ask the window to show ``text`` (an error unless ``error`` is False)."""
        self.last_message = text
        self.messageRequested.emit(text, bool(error))

    def announce_export(self, folder: Path) -> None:
        """Files were written into ``folder`` (the window offers to open it)."""
        self.exported.emit(Path(folder))

    @property
    def image_source(self) -> tuple[str, str]:
        """``(kind, source)`` of the image: a sample name, a resolved path, or a label.

        ``kind`` is ``"sample"``, ``"file"`` or ``"array"`` (pasted or dropped pixels,
        which cannot be loaded again from a session).
        """
        kind, value = self.origin
        if kind == "sample":
            return "sample", str(value)
        if kind == "file":
            return "file", str(Path(str(value)).resolve())
        return "array", "" if self.source is None else self.source.source
