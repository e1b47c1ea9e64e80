"""Qt's own messages: the harmless ones that every offscreen run prints are dropped.

The offscreen platform says "This plugin does not support propagateSizeHints()" for
every window it lays out (and "… raise()" for every dialog brought to the front, as the
``--screenshot --view`` of a dialog does), and Qt warns about a missing or shared
``XDG_RUNTIME_DIR`` (containers, ``sudo``): none of it concerns the user of
``--screenshot`` or the window.
They go to the debug log; every other message is passed on as before.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from qtpy import QtCore

__all__ = ["NOISE", "install_message_filter"]

log = logging.getLogger("deconv_gui.qt")

_installed: list[Callable[..., None]] = []

#: Beginnings of Qt messages that say nothing to the user.
NOISE: tuple[str, ...] = (
    "This plugin does not support propagateSizeHints()",
    "This plugin does not support raise()",
    "QStandardPaths: XDG_RUNTIME_DIR not set",
    "QStandardPaths: wrong permissions on runtime directory",
    "QStandardPaths: runtime directory",
)


def install_message_filter() -> Callable[[], None]:
    """Drop :data:`NOISE` from Qt's messages; returns a function that restores the handler."""
    previous: Any = None

    def handler(
        mode: QtCore.QtMsgType, context: QtCore.QMessageLogContext, message: str | None
    ) -> None:
        message = message or ""
        if message.startswith(NOISE):
            log.debug("Qt: %s", message)
        elif previous is not None:
            previous(mode, context, message)
        else:
            print(message, file=sys.stderr)

    previous = QtCore.qInstallMessageHandler(handler)
    _installed.append(handler)  # the binding must not outlive its Python callable

    def restore() -> None:
        QtCore.qInstallMessageHandler(previous)
        if handler in _installed:
            _installed.remove(handler)

    return restore
