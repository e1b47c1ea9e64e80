"""SIGTERM and SIGINT close the window as the user's Quit does.

While Qt's event loop runs, Python's signal handlers wait for the interpreter to get
control, which an idle window never gives it: ``kill`` and Ctrl+C in the terminal did
nothing. Python writes each signal's number to a socket (``signal.set_wakeup_fd``), a
:class:`QSocketNotifier` wakes the loop on it, and the handler then closes the window:
its settings are saved and the application quits after its last window.
"""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Callable
from typing import Any

from qtpy import QtCore

__all__ = ["QUIT_SIGNALS", "close_on_quit_signals"]

#: The signals that close the window (a session manager's or ``kill``'s, and Ctrl+C).
QUIT_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def close_on_quit_signals(owner: QtCore.QObject, close: Callable[[], object]) -> Callable[[], None]:
    """Call ``close`` on SIGTERM or SIGINT while Qt's loop runs; returns the undo.

    Only the main thread may set signal handlers: elsewhere this does nothing. ``owner``
    keeps the notifier (it dies with it).
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    previous_fd = signal.set_wakeup_fd(writer.fileno())
    previous = {number: signal.getsignal(number) for number in QUIT_SIGNALS}
    # PyQt5's stubs type the descriptor as sip.voidptr; Qt takes the integer
    descriptor: Any = reader.fileno()
    notifier = QtCore.QSocketNotifier(descriptor, QtCore.QSocketNotifier.Type.Read, owner)
    # reading empties the socket; Python runs the pending handler on the way back
    notifier.activated.connect(lambda *_: _drain(reader))
    for number in QUIT_SIGNALS:
        signal.signal(number, lambda *_: close())

    def undo() -> None:
        try:
            notifier.setEnabled(False)
        except RuntimeError:  # deleted with its owner (a window closed and deleted)
            pass
        signal.set_wakeup_fd(previous_fd)
        for number, handler in previous.items():
            signal.signal(number, handler)
        reader.close()
        writer.close()

    return undo


def _drain(reader: socket.socket) -> None:
    try:
        while reader.recv(64):
            pass
    except (BlockingIOError, OSError):
        pass
