"""Iterative solvers for the pseudo-inverse, with progress, cancel and an honest report.

(First version: shared types only. The Krylov solver class lands with the
reconstructions issue.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "CancelCheck",
    "NotConvergedWarning",
    "ProgressCallback",
    "SolveCancelled",
    "SolverReport",
    "is_cancelled",
]

#: ``progress(iteration, relative_residual)``, called after every iteration.
ProgressCallback = Callable[[int, float], None]
#: A callable returning True to stop, or a :class:`threading.Event`.
CancelCheck = Callable[[], bool] | threading.Event


class SolveCancelled(Exception):
    """Raised when a solve is cancelled between iterations; no partial result escapes."""


class NotConvergedWarning(RuntimeWarning):
    """The iteration limit stopped a solve before it reached ``rtol``."""


@dataclass(frozen=True)
class SolverReport:
    """What a pseudo-inverse solve did.

    Attributes
    ----------
    method : str
        ``"dense"`` (numpy.linalg on the explicit matrix) or the iterative method's name.
    iterations : int
        Iterations run (0 for dense).
    relative_residual : float
        ``‖A x̂ − y‖ / ‖y‖`` of the returned image (0 when ``y`` is zero).
    converged : bool
        Whether the stopping rule ``rtol`` was met.
    residual_history : tuple of float
        The monitored relative residual after each iteration.
    message : str
        A one-line human-readable summary.
    """

    method: str
    iterations: int
    relative_residual: float
    converged: bool
    residual_history: tuple[float, ...] = ()
    message: str = ""


def is_cancelled(cancel: CancelCheck | None) -> bool:
    """Evaluate a cancel check: None never cancels."""
    if cancel is None:
        return False
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    return bool(cancel())
