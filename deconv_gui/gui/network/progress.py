"""The status bar's strip for the ``J⁺`` solve of the network mode: its progress and Cancel.

The bar follows whichever end is nearest (:func:`solve_done`): the iteration limit, the
time limit, or the tolerance (the residual's decades from 1 down to ``rtol``), so it fills
at the pace of what will actually stop the solve.
"""

from __future__ import annotations

import math
import time

from qtpy import QtWidgets

from ...core.network.solve import PREFIX_MAX_ITER
from .jobs import PrefixRequest

__all__ = ["SolveProgress", "solve_done"]

#: The bar's steps.
_STEPS = 1000


def solve_done(request: PrefixRequest, iteration: int, residual: float, seconds: float) -> float:
    """How far the ``J⁺`` solve of ``request`` is from its end, 0 to 1 (see the module).

    >>> import numpy as np
    >>> request = PrefixRequest(None, np.zeros((1, 1, 1)), rtol=1e-8, time_limit=30.0)
    >>> round(solve_done(request, 300, 1e-4, 3.0), 6)  # half of the decades to rtol
    0.5
    """
    limit = request.max_iter or PREFIX_MAX_ITER
    shares = [iteration / limit]
    if request.time_limit:
        shares.append(seconds / request.time_limit)
    if 0 < residual < 1 and 0 < request.rtol < 1:
        shares.append(math.log(residual) / math.log(request.rtol))
    return min(max(shares), 1.0)


class SolveProgress(QtWidgets.QWidget):
    """A progress bar and a "Cancel J⁺" button, hidden between solves."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.bar = QtWidgets.QProgressBar()
        self.bar.setObjectName("network_progress")
        # wide enough for "J⁺: iteration 1234, residual 3e-06" beside the status message
        self.bar.setMinimumWidth(250)
        self.bar.setMaximumWidth(320)
        self.bar.setToolTip(
            "The J⁺ solve of the network up to the layer: it ends at the layer's rtol, "
            f"{PREFIX_MAX_ITER} iterations or its time limit, whichever comes first"
        )
        self.cancel_button = QtWidgets.QToolButton()
        self.cancel_button.setText("Cancel J⁺")
        self.cancel_button.setToolTip("Stop the J⁺ solve (the other panels stay)")
        row.addWidget(self.bar)
        row.addWidget(self.cancel_button)
        self.setVisible(False)
        self._request: PrefixRequest | None = None
        self._started = 0.0

    def start(self, request: PrefixRequest) -> None:
        """A solve of ``request`` started: an empty bar."""
        self._request, self._started = request, time.perf_counter()
        self.bar.setRange(0, _STEPS)
        self.bar.setValue(0)
        self.bar.setFormat("J⁺: starting")
        self.setVisible(True)

    def report(self, iteration: int, residual: float) -> None:
        """The solve's iteration and relative residual (the bar never goes back)."""
        if self._request is None:
            return
        done = solve_done(self._request, iteration, residual, time.perf_counter() - self._started)
        self.bar.setValue(max(self.bar.value(), round(done * _STEPS)))
        self.bar.setFormat(f"J⁺: iteration {iteration}, residual {residual:.1g}")
