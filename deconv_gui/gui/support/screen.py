"""Fitting the window to a laptop screen: its first size, and clamping a restored geometry."""

from __future__ import annotations

from qtpy import QtCore, QtGui, QtWidgets

from .qthelp import make_timer

__all__ = [
    "PREFERRED_SIZE",
    "available_geometry",
    "clamp_rect",
    "fit_to_screen",
    "initial_size",
    "keep_frame_on_screen",
    "resize_within_screen",
]

#: Size of a fresh window on a screen large enough for it.
PREFERRED_SIZE = QtCore.QSize(1500, 950)
# room left for the window manager's frame (title bar, borders) around the client area
_FRAME_MARGIN = QtCore.QSize(16, 48)


def initial_size(available: QtCore.QRect) -> QtCore.QSize:
    """The size of a fresh window: :data:`PREFERRED_SIZE`, shrunk to fit ``available``.

    ``available`` is the screen's available geometry (without the desktop's own panels);
    the window manager's frame is kept inside it too.
    """
    return PREFERRED_SIZE.boundedTo(available.size() - _FRAME_MARGIN)


def clamp_rect(rect: QtCore.QRect, available: QtCore.QRect) -> QtCore.QRect:
    """``rect`` moved and shrunk so that it lies inside ``available``, frame included.

    A geometry restored from a larger screen (or from a monitor that is gone) would
    otherwise open partly or wholly off screen.
    """
    room = available.size() - _FRAME_MARGIN
    size = rect.size().boundedTo(room)
    right = available.left() + room.width() - size.width()
    bottom = available.top() + room.height() - size.height()
    left = min(max(rect.left(), available.left()), right)
    top = min(max(rect.top(), available.top()), bottom)
    return QtCore.QRect(QtCore.QPoint(left, top), size)


def available_geometry(widget: QtWidgets.QWidget) -> QtCore.QRect:
    """The available geometry of the screen ``widget`` is on (else the primary screen)."""
    handle = widget.windowHandle()
    screen = handle.screen() if handle is not None else None
    if screen is None:
        screen = QtWidgets.QApplication.screenAt(widget.geometry().center())
    if screen is None:
        screen = QtWidgets.QApplication.primaryScreen()
    if screen is None:  # no screen at all: nothing to fit into
        return QtCore.QRect(QtCore.QPoint(0, 0), PREFERRED_SIZE + _FRAME_MARGIN)
    return screen.availableGeometry()


def resize_within_screen(window: QtWidgets.QWidget, width: int, height: int) -> None:
    """Resize ``window`` to ``width × height``, shrunk to fit its screen with the frame.

    A dialog's preferred size (the Fourier view's 1320 px) would otherwise run past a
    laptop screen, its Close button out of reach.
    """
    room = available_geometry(window).size() - _FRAME_MARGIN
    window.resize(QtCore.QSize(width, height).boundedTo(room))


def fit_to_screen(window: QtWidgets.QWidget) -> None:
    """Move and shrink ``window`` into its screen's available geometry.

    A maximised or full-screen window is left to the window manager.
    """
    if window.windowState() & (
        QtCore.Qt.WindowState.WindowMaximized | QtCore.Qt.WindowState.WindowFullScreen
    ):
        return
    rect = window.geometry()
    fitted = clamp_rect(rect, available_geometry(window))
    if fitted != rect:
        window.setGeometry(fitted)


class _FrameGuard(QtCore.QObject):
    """Moves a window whose frame (title bar included) sticks out of its screen, once shown.

    Before the window is shown its frame is unknown, and on X11 a restored geometry put
    the client at the screen's top with the title bar above it, out of reach. The
    window manager reports its frame some time after mapping the window, without a
    move event when only the frame changed, so the frame is checked a few times a
    second for the first seconds after showing.
    """

    def __init__(self, window: QtWidgets.QWidget, checks: int, interval_ms: int) -> None:
        super().__init__(window)
        self._window = window
        self._checks = checks
        # a child timer dies with the window: never fires on a deleted widget
        self._timer = make_timer(self, interval_ms)
        self._timer.timeout.connect(self._check)
        window.installEventFilter(self)

    def eventFilter(self, watched: QtCore.QObject | None, event: QtCore.QEvent | None) -> bool:
        if event is None:
            return False
        if event.type() == QtCore.QEvent.Type.Show and self._checks > 0:
            self._timer.start()
        elif event.type() == QtCore.QEvent.Type.Hide:
            self._timer.stop()
        return False

    def _check(self) -> None:
        self._checks -= 1
        if self._checks <= 0:
            self._timer.stop()
        window = self._window
        if window.windowState() & (
            QtCore.Qt.WindowState.WindowMaximized | QtCore.Qt.WindowState.WindowFullScreen
        ):
            return
        frame, available = window.frameGeometry(), available_geometry(window)
        if available.contains(frame):
            return
        border = frame.size() - window.size()  # the window manager's decorations
        size = window.size().boundedTo(available.size() - border)
        if size != window.size():
            window.resize(size)
        outer = size + border
        left = min(max(frame.left(), available.left()), available.right() + 1 - outer.width())
        top = min(max(frame.top(), available.top()), available.bottom() + 1 - outer.height())
        window.move(left, top)  # move() places the frame's top-left corner


def keep_frame_on_screen(window: QtWidgets.QWidget, seconds: float = 6.0) -> None:
    """For a few seconds after ``window`` is shown, keep its frame inside its screen.

    Not on the offscreen platform: its "screen" is a fixed 800×600 nobody looks at, and
    screenshots there choose their own size.
    """
    if QtGui.QGuiApplication.platformName() in ("offscreen", "minimal"):
        return
    interval = 250
    _FrameGuard(window, max(1, int(seconds * 1000 / interval)), interval)
