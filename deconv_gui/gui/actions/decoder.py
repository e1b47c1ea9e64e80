"""File → Load decoder…: the learned decoder of ``deconv-gui fit-decoder`` as a panel.

The file is read and checked off the GUI thread (a decoder file may be large and
comes from anyone); when it is good, the selected layer's ``decoder_path`` names it
and method ``decoder`` is switched on, in one undo step, so that its panel ``D(y)``
appears beside ``Aᵀ`` and ``A⁺`` and is scored with them. A file that cannot be read
changes nothing and says why in one line.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from qtpy import QtWidgets

from ...core import Params
from ...core.decoder import Decoder, check_decoder
from ...io.decoder_file import read_decoder
from ..runner import JobRunner, Priority
from ..state import AppState
from ..support import settings as stored
from .document import error_line

__all__ = ["DECODER_FILTER", "DecoderActions"]

DECODER_FILTER = "Decoders from fit-decoder (*.npz);;All files (*)"


class DecoderActions:
    """Loads decoder files for the window.

    Parameters
    ----------
    state : AppState
        Messages and remembered folders.
    current_params, apply_params : callable
        Read the selected layer's :class:`Params` from the widgets, and show new ones.
    compute_now : callable
        Start the computation.
    as_one_step : callable
        ``as_one_step(label)``: a context manager making one undo step.
    parent : QWidget
        The file dialog's parent.
    """

    def __init__(
        self,
        state: AppState,
        current_params: Callable[[], Params],
        apply_params: Callable[[Params], None],
        compute_now: Callable[[], object],
        as_one_step: Callable[[str], AbstractContextManager[Any]],
        parent: QtWidgets.QWidget,
    ) -> None:
        self._state = state
        self._current_params = current_params
        self._apply_params = apply_params
        self._compute_now = compute_now
        self._as_one_step = as_one_step
        self._parent = parent
        self.runner = JobRunner(parent, priority=Priority.LOAD)
        self.runner.resultReady.connect(self._on_read)
        self.runner.failed.connect(self._on_failed)
        self._pending: dict[int, Path] = {}

    def open_dialog(self) -> bool:
        """Ask for a decoder file, then :meth:`load_path`."""
        settings = self._state.settings
        path = stored.ask_file_to_open(
            self._parent, settings, "Load decoder", DECODER_FILTER, "decoder"
        )
        return self.load_path(path) if path else False

    def load_path(self, path: str | Path) -> bool:
        """Start reading ``path`` off the GUI thread; True when the read started."""
        file = Path(path).resolve()

        def job(cancel: threading.Event, progress: Callable[[object], None]) -> Any:
            return read_decoder(file)[0]

        rid = self.runner.submit(job)
        self._pending[rid] = file
        self._state.notify(f"Reading the decoder {file.name}…", error=False)
        return True

    def wait(self, msecs: int = 60_000) -> bool:
        """Wait for the running read (tests and the command line)."""
        return self.runner.wait(msecs)

    def shutdown(self) -> None:
        """Stop and wait for the running read (the window is closing)."""
        self.runner.shutdown()

    def _on_read(self, rid: int, value: object) -> None:
        file = self._pending.pop(rid, None)
        if file is None or not isinstance(value, Decoder):
            return
        name = file.name
        try:
            params = self._current_params()
            methods = (*params.methods, "decoder")  # Params keeps one of each, in order
            updated = params.replace(decoder_path=str(file), methods=methods)
            image = self._state.image
            if image is not None:  # refused now, not at every run
                check_decoder(value, updated.geometry(image.pixels.shape))
            with self._as_one_step(f"load decoder {name}"):
                self._apply_params(updated)
        except Exception as exc:  # the window must survive any file
            self._state.notify(
                f"Could not use the decoder {name} (nothing changed): {error_line(exc)}"
            )
            return
        stored.set_folder_for(self._state.settings, "decoder", str(file.parent))
        size = "×".join(map(str, value.weights.shape[:2]))
        stride = "×".join(map(str, value.stride))
        self._state.notify(
            f"Loaded the decoder {name} ({size}, stride {stride}): panel D(y).", error=False
        )
        self._compute_now()

    def _on_failed(self, rid: int, message: str) -> None:
        file = self._pending.pop(rid, None)
        if file is not None:
            reason = " ".join(message.strip().splitlines()[-1:]) or "unreadable"
            self._state.notify(
                f"Could not load the decoder {file.name} (nothing changed): {reason}"
            )
