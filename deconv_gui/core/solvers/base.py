"""What every iterative solver of the core shares: callbacks, the report, the result, the loop.

:class:`IterativeSolver` follows the shape of PyLops' ``Solver`` (``setup``, ``step``,
``run``, ``finalize``) and reports through one :class:`Callbacks` object (progress and
cancel, PyLops' ``on_setup`` / ``on_step`` / ``on_finalize`` hooks). Every solve ends in
one :class:`SolverReport` inside one :class:`Reconstruction` ``(image, report)``. The
level-1 helpers :func:`dot`, :func:`norm` and :func:`axpy` avoid BLAS (see the note
above them).
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple, TypedDict

import numpy as np

from ..deprecation import warn_deprecated

__all__ = [
    "DEFAULT_MAX_ITER",
    "Callbacks",
    "CancelCheck",
    "IterativeSolver",
    "LinearMap",
    "MonitorKeywords",
    "NotConvergedWarning",
    "ProgressCallback",
    "Reconstruction",
    "SolveCancelled",
    "SolverReport",
    "as_callbacks",
    "axpy",
    "deliver",
    "dot",
    "in_steps",
    "is_cancelled",
    "norm",
]

#: ``progress(iteration, relative_residual)``, called after every iteration.
ProgressCallback = Callable[[int, float], None]
#: A callable returning True to stop, or a :class:`threading.Event`.
CancelCheck = Callable[[], bool] | threading.Event
#: A linear map on numpy arrays (the operator, its adjoint, a preconditioner).
LinearMap = Callable[[np.ndarray], np.ndarray]

#: Iteration limit when the caller gives none.
DEFAULT_MAX_ITER = 300


class SolveCancelled(Exception):
    """Raised when a solve is cancelled between iterations; no partial result escapes."""


class NotConvergedWarning(RuntimeWarning):
    """The iteration limit stopped a solve before it reached ``rtol``."""


@dataclass(frozen=True)
class SolverReport:
    """What a solve did: the one report of every solver of the core.

    Attributes
    ----------
    method : str
        The algorithm: ``"dense"`` (numpy.linalg on the explicit matrix), ``"fourier"``
        (one small SVD per frequency of a periodic layer), ``"pcg"``
        (preconditioned CG on ``A Aᵀ``), ``"pcg+cgls"`` (switched to CGLS for a ``y``
        outside the range), ``"fista+tv-dual"``, ``"fista-nonneg"``, ``"richardson-lucy"``.
    iterations : int
        Iterations run (0 for dense); each costs one forward and one adjoint.
    relative_residual : float
        ``‖A x̂ − y‖ / ‖y‖`` of the returned image, ``y`` the centred data (0 when it
        is zero).
    converged : bool
        Whether the stopping rule was met (always True for Richardson–Lucy, whose rule
        is its iteration count).
    history : tuple of float
        The monitored measure after each iteration (what ``progress`` received): the
        relative residual for the pseudo-inverse, the relative change
        ``‖x_k − x_{k−1}‖ / ‖x_k‖`` for the prior solvers.
    message : str
        A one-line human-readable summary.
    normal_residual : float
        ``‖Aᵀ(y − A x̂)‖ / (‖A‖ ‖y − A x̂‖)`` when it was computed (the least-squares
        optimality measure for a ``y`` outside the range of ``A``), else NaN.
    objective : float
        The objective of the returned image, for the solvers that minimise one (for
        Richardson–Lucy the Kullback–Leibler divergence ``KL(y ‖ A x̂)``), else NaN.
    gap : float
        For TV and non-negative least squares: the relative duality gap
        ``(P(x̂) − D) / D`` of the returned image (``D`` the best dual bound found, ``P``
        the objective), an upper bound of how far ``x̂`` is above the minimum, relative
        to it; "converged" means ``gap <= tol``. Inf when no dual bound was found, NaN
        when it was not measured (and for the other solvers).
    """

    method: str
    iterations: int
    relative_residual: float
    converged: bool
    history: tuple[float, ...] = ()
    message: str = ""
    normal_residual: float = float("nan")
    objective: float = float("nan")
    gap: float = float("nan")

    @property
    def residual_history(self) -> tuple[float, ...]:
        """The pseudo-inverse's name for :attr:`history` (the monitored residuals)."""
        return self.history


class Reconstruction(NamedTuple):
    """The reconstructed image and the :class:`SolverReport` of the solve that produced it."""

    image: np.ndarray
    report: SolverReport


class Callbacks:
    """What a solver tells its caller, and how the caller stops it (PyLops' callbacks).

    The solver calls :meth:`on_setup` after ``setup``, :meth:`cancelled` before and
    :meth:`on_step` after every iteration, and :meth:`on_finalize` with the result.
    Subclass to watch the iterates; give ``progress`` and ``cancel`` for the common case.

    Parameters
    ----------
    progress : callable, optional
        ``progress(iteration, measure)`` after every iteration (the measure the
        solver monitors; see :attr:`SolverReport.history`).
    cancel : callable or threading.Event, optional
        Checked before every iteration; when it fires, the solve raises
        :class:`SolveCancelled`.

    Examples
    --------
    >>> import threading
    >>> from deconv_gui.core.solvers import Callbacks
    >>> stop = threading.Event()
    >>> callbacks = Callbacks(progress=lambda k, r: None, cancel=stop)
    >>> callbacks.cancelled(), (stop.set(), callbacks.cancelled())[1]
    (False, True)
    """

    def __init__(
        self, progress: ProgressCallback | None = None, cancel: CancelCheck | None = None
    ) -> None:
        self.progress = progress
        self.cancel = cancel

    def cancelled(self) -> bool:
        """Whether the caller asked to stop."""
        return is_cancelled(self.cancel)

    def on_setup(self, solver: IterativeSolver) -> None:
        """After ``setup``: the solver's state is initialised."""

    def on_step(self, solver: IterativeSolver) -> None:
        """After every iteration: hand ``progress`` the iteration and the measure."""
        if self.progress is not None:
            self.progress(solver.iiter, solver.history[-1])

    def on_finalize(self, solver: IterativeSolver, result: Any) -> None:
        """After ``finalize``, with what it returned."""


class MonitorKeywords(TypedDict, total=False):
    """How a caller watches and stops an iterative solve (all default to None): the
    keywords of :class:`IterativeSolver`, which its subclasses hand on unchanged."""

    callbacks: Callbacks | None
    progress: ProgressCallback | None
    cancel: CancelCheck | None


def as_callbacks(
    callbacks: Callbacks | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
) -> Callbacks:
    """One :class:`Callbacks` from either a ready object or loose ``progress``/``cancel``."""
    if callbacks is None:
        return Callbacks(progress, cancel)
    if progress is not None or cancel is not None:
        raise ValueError("give either callbacks or progress/cancel, not both")
    if not isinstance(callbacks, Callbacks):
        raise ValueError(f"callbacks must be a Callbacks, got {type(callbacks).__name__}")
    return callbacks


def deliver(
    result: Any, return_report: bool | None, dtype: Any = None, plain: str = "image"
) -> Any:
    """What a public function hands out: its one result type, whatever the keywords.

    ``return_report`` is the retired keyword: None (left out) gives ``result``; True or
    False warn (:class:`DeprecationWarning`, at the caller of the public function), and
    False still gives the old plain value ``result.<plain>`` (the image), with a
    :class:`NotConvergedWarning` when the solve stopped at its iteration limit. The
    image is cast to ``dtype`` when one is given.
    """
    if dtype is not None:
        result = result._replace(image=result.image.astype(dtype, copy=False))
    if return_report is None:
        return result
    kind = type(result).__name__
    warn_deprecated("return_report", f".{plain} of the {kind} always returned", stacklevel=4)
    if return_report:
        return result
    report = getattr(result, "report", None)
    if report is not None and not report.converged:
        warnings.warn(report.message, NotConvergedWarning, stacklevel=3)
    return getattr(result, plain)


def is_cancelled(cancel: CancelCheck | None) -> bool:
    """Evaluate a cancel check: None never cancels."""
    if cancel is None:
        return False
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    return bool(cancel())


def in_steps(
    count: int,
    step: int,
    *,
    cancel: CancelCheck | None = None,
    progress: ProgressCallback | None = None,
) -> Iterator[slice]:
    """Slices of ``range(count)``, ``step`` long: a long batched computation (one
    eigen-decomposition per frequency, say) done slice by slice, so that it can stop.

    Checks ``cancel`` before each slice (raises :class:`SolveCancelled`) and reports
    ``progress(slices done, fraction done)`` after each, the fraction rising to 1.

    Examples
    --------
    >>> seen = []
    >>> [(s.start, s.stop) for s in in_steps(5, 2, progress=lambda k, f: seen.append(f))]
    [(0, 2), (2, 4), (4, 5)]
    >>> seen
    [0.4, 0.8, 1.0]
    """
    step = max(int(step), 1)
    for done, start in enumerate(range(0, count, step), start=1):
        if is_cancelled(cancel):
            raise SolveCancelled("cancelled")
        yield slice(start, min(start + step, count))
        if progress is not None:
            progress(done, min(start + step, count) / count)


# Level-1 kernels without BLAS: OpenBLAS' threaded ddot/daxpy stall badly when the
# cores are busy (measured here: 22 ms for a 200k-element dot on a loaded machine, vs
# 0.1 ms for einsum), and the convolution already runs its own worker threads.
def dot(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.einsum("i,i->", a.ravel(), b.ravel()))


def norm(a: np.ndarray) -> float:
    return float(np.sqrt(dot(a, a)))


def axpy(alpha: float, x: np.ndarray, y: np.ndarray, scratch: np.ndarray | None = None) -> None:
    """``y += alpha * x`` in place; ``scratch`` (shaped like ``x``) avoids a temporary."""
    if scratch is None or scratch.shape != x.shape:
        y += alpha * x
    else:
        np.multiply(x, alpha, out=scratch)
        y += scratch


class IterativeSolver:
    """Base class: the ``setup`` / ``step`` / ``run`` / ``finalize`` protocol.

    Parameters
    ----------
    callbacks : Callbacks, optional
        Progress and cancel (and any hooks); or give ``progress`` and ``cancel``.
    progress, cancel
        As for :class:`Callbacks` (folded into one).

    Attributes
    ----------
    iiter : int
        Iterations done so far.
    history : list of float
        The monitored measure after each iteration.
    converged : bool
        Whether the stopping rule has been met.
    """

    def __init__(
        self,
        *,
        callbacks: Callbacks | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelCheck | None = None,
    ) -> None:
        self.callbacks = as_callbacks(callbacks, progress, cancel)
        self.iiter = 0
        self.history: list[float] = []
        self.converged = False
        #: Set by a solver that must stop without converging (a diverging iterate).
        self.stopped = False

    def setup(self, y: np.ndarray) -> None:  # pragma: no cover - abstract
        """Initialise the iteration for right-hand side ``y``."""
        raise NotImplementedError

    def step(self) -> None:  # pragma: no cover - abstract
        """Run one iteration; append to :attr:`history`; set :attr:`converged`."""
        raise NotImplementedError

    def finalize(self) -> Any:  # pragma: no cover - abstract
        """Return the solution and a :class:`SolverReport`."""
        raise NotImplementedError

    def run(self, max_iter: int | None = None) -> None:
        """Iterate until convergence or ``max_iter`` more iterations.

        Raises
        ------
        SolveCancelled
            When the cancel check fires (checked before every iteration). The
            solver's arrays are private; nothing half-written is handed out.
        """
        limit = DEFAULT_MAX_ITER if max_iter is None else int(max_iter)
        if limit < 1:
            raise ValueError(f"max_iter must be >= 1 or None, got {max_iter!r}")
        self.max_iter = limit
        for _ in range(limit):
            if self.converged or self.stopped:
                break
            if self.callbacks.cancelled():
                raise SolveCancelled(f"solve cancelled after {self.iiter} iterations")
            self.step()
            self.callbacks.on_step(self)

    def result(
        self, x: np.ndarray, method: str, relative_residual: float, message: str, **measures: float
    ) -> Reconstruction:
        """``(x, report)``: the :class:`SolverReport` of the iterations run so far.

        ``measures`` are the report's optional numbers (``normal_residual``,
        ``objective``, ``gap``).
        """
        report = SolverReport(
            method=method,
            iterations=self.iiter,
            relative_residual=relative_residual,
            converged=bool(self.converged),
            history=tuple(self.history),
            message=message,
            **measures,
        )
        return Reconstruction(x, report)

    def solve(self, y: np.ndarray, max_iter: int | None = None) -> Any:
        """``setup(y)``, ``run(max_iter)`` and ``finalize()`` in one call."""
        self.setup(y)
        self.callbacks.on_setup(self)
        self.run(max_iter)
        result = self.finalize()
        self.callbacks.on_finalize(self, result)
        return result
