"""What the prior-based reconstructions share: validation, operator, report, solver base.

Every reconstruction of this subpackage is built the same way: the convenience
signature (``y, weights, bias`` plus ``input_shape, stride, padding, dilation``) is
validated once into one :class:`~deconv_gui.core.ConvOperator` and the centred data
``y − b``; an iterative solver then works only through the operator's ``matvec`` and
``rmatvec``. The solvers follow the ``setup`` / ``step`` / ``run`` / ``finalize``
protocol of :class:`~deconv_gui.core.solvers.IterativeSolver` (progress after every
iteration, cancel checked before every iteration, :class:`SolveCancelled` raised
with nothing half-written handed out).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

import numpy as np

from .. import lapack
from ..geometry import centred_output
from ..norms import relative_norm
from ..operator import ConvOperator, as_operator
from ..solvers import (
    CancelCheck,
    IterativeSolver,
    ProgressCallback,
    deliver,
    periodic_symbol,
)
from ..solvers.base import dot

__all__ = [
    "PriorReport",
    "PriorResult",
    "PriorSolver",
    "check_count",
    "check_number",
    "check_stopping",
    "deliver",
    "dot",
    "operator_norm_bound",
    "prepare",
    "shared_doc",
]


@dataclass(frozen=True)
class PriorReport:
    """What a prior-based reconstruction did.

    Attributes
    ----------
    method : str
        The algorithm, e.g. ``"fista+tv-dual"``, ``"fista-nonneg"``, ``"richardson-lucy"``.
    iterations : int
        Iterations run; each costs one forward and one adjoint.
    converged : bool
        Whether the stopping rule was met (always True for Richardson–Lucy, which runs
        a fixed number of iterations).
    objective : float
        The objective of the returned image (for Richardson–Lucy the Kullback–Leibler
        divergence ``KL(y − b ‖ A x)``).
    relative_residual : float
        ``‖A x − (y − b)‖ / ‖y − b‖`` of the returned image (0 when ``y − b`` is zero).
    history : tuple of float
        The monitored measure after each iteration (what ``progress`` received): the
        relative change ``‖x_k − x_{k−1}‖ / ‖x_k‖``.
    message : str
        A one-line human-readable summary.
    """

    method: str
    iterations: int
    converged: bool
    objective: float
    relative_residual: float
    history: tuple[float, ...] = ()
    message: str = ""


class PriorResult(NamedTuple):
    """The reconstructed image and the report of the solve that produced it."""

    image: np.ndarray
    report: PriorReport


#: The docstring sections the convenience functions share, by ``%(name)s`` place.
_SHARED_DOC = {
    "problem": """\
y, weights, bias, input_shape, stride, padding, dilation
    As for :func:`~deconv_gui.core.pinv_reconstruction` (``weights`` may be a
    ready :class:`~deconv_gui.core.ConvOperator`).""",
    "monitor": """\
progress : callable, optional
    ``progress(iteration, relative_change)`` after each iteration.
cancel : callable or threading.Event, optional
    Checked before each iteration; raises :class:`~deconv_gui.core.SolveCancelled`.""",
    "report": """\
return_report : bool
    Return a :class:`~deconv_gui.core.priors.PriorResult` ``(image, report)``.""",
    "raises": """\
Raises
------
ValueError
    On bad arguments (the message names the argument).
SolveCancelled
    When ``cancel`` fired.

Warns
-----
NotConvergedWarning
    When ``return_report`` is False and ``max_iter`` stopped the solve before ``tol``.""",
}

F = TypeVar("F", bound=Callable[..., Any])


def shared_doc(func: F) -> F:
    """Fill the ``%(name)s`` places of ``func``'s docstring with the shared sections.

    One text for what the reconstructions document alike (the problem arguments,
    ``progress`` and ``cancel``, the report, the errors); the filled docstring is what
    ``help`` and the doctests read.
    """
    if func.__doc__:
        doc = func.__doc__
        for name, text in _SHARED_DOC.items():
            doc = doc.replace(f"%({name})s", textwrap.indent(text, "    ").lstrip())
        func.__doc__ = doc
    return func


def check_number(value: Any, name: str, *, minimum: float = 0.0, strict: bool = False) -> float:
    """``value`` as a finite float ``>= minimum`` (``> minimum`` when ``strict``).

    Raises
    ------
    ValueError
        Naming ``name``, for anything else (bools, strings, NaN, inf, out of range).
    """
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    rule = ">" if strict else ">="
    if not np.isfinite(number) or number < minimum or (strict and number == minimum):
        raise ValueError(f"{name} must be a finite number {rule} {minimum:g}, got {value!r}")
    return number


def check_count(value: Any, name: str, *, minimum: int = 1) -> int:
    """``value`` as an int ``>= minimum``; a ValueError naming ``name`` otherwise."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def check_stopping(max_iter: Any, tol: Any) -> tuple[int, float]:
    """``max_iter`` as an int ``>= 1`` and ``tol`` as a float ``> 0`` (ValueError otherwise)."""
    return check_count(max_iter, "max_iter"), check_number(tol, "tol", strict=True)


def prepare(
    y: Any, weights: Any, bias: Any, input_shape: Any, stride: Any, padding: Any, dilation: Any
) -> tuple[ConvOperator, np.ndarray]:
    """Validate the arguments once: the operator and the centred data ``y − b``.

    ``weights`` is a filter (with ``input_shape`` and the hyper-parameters) or a ready
    :class:`~deconv_gui.core.ConvOperator` (see :func:`~deconv_gui.core.as_operator`).
    The operator returned works in the dtype of ``y`` (float32 stays float32, anything
    else is float64): first-order methods need no more than float32 for their
    tolerances, and float32 halves the memory traffic that dominates their iterations.
    """
    op = as_operator(weights, input_shape, stride, padding, dilation)
    centred = centred_output(y, op.geometry, bias)
    if op.dtype != centred.dtype:
        op = ConvOperator(op.geometry, op.weights, dtype=centred.dtype)
    return op, centred


def operator_norm_bound(op: ConvOperator, grid: int = 128) -> float:
    """An upper bound of ``‖A‖²`` (the Lipschitz constant of ``x ↦ Aᵀ(A x − y)``).

    Notes
    -----
    ``A`` is a restriction of the stationary (infinite-grid) operator, so
    ``‖A‖² ≤ sup_ω λ_max(K̂(ω))`` where ``K̂`` is the symbol of ``A Aᵀ`` on the output
    grid (:func:`~deconv_gui.core.solvers.periodic_symbol`). The symbol is a
    trigonometric polynomial of a few taps; its maximum over a ``grid × grid``
    frequency sampling is within a fraction of a percent of the supremum, and 1 % is
    added for safety. A power iteration would only approach the norm from below (20
    iterations are still ~3 % low for a Gaussian filter), and a too small constant makes
    accelerated gradient methods diverge.
    """
    symbol = periodic_symbol(op, (grid, grid), onesided=False)
    top = float(lapack.eigvalsh(symbol).max())
    return 1.01 * max(top, 0.0)


class PriorSolver(IterativeSolver):
    """Base of the prior-based solvers: the operator, the stopping measure and the report.

    Parameters
    ----------
    op : ConvOperator
        The forward operator ``A``; the solver calls only ``matvec`` and ``rmatvec``.
    tol : float
        Stop when the relative change ``‖x_k − x_{k−1}‖ / ‖x_k‖`` is at most ``tol``.
    progress, cancel
        As for :class:`~deconv_gui.core.solvers.IterativeSolver`: ``progress`` receives
        ``(iteration, relative change)``.

    Subclasses implement ``setup(y)``, ``step()`` and ``objective(x)``; ``x`` is the
    current image ``(H, W, C_in)`` and :meth:`record_change` appends to the history.
    """

    method = ""

    def __init__(
        self,
        op: ConvOperator,
        *,
        tol: float,
        progress: ProgressCallback | None = None,
        cancel: CancelCheck | None = None,
    ) -> None:
        super().__init__(progress=progress, cancel=cancel)
        self.op = op
        self.tol = float(tol)
        self.shape = op.geometry.input_shape
        self.x = np.zeros(self.shape, dtype=op.dtype)
        self.y = np.zeros(op.geometry.output_shape, dtype=op.dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``A x`` on an image, as an output-space array."""
        return self.op.matvec(x.ravel()).reshape(self.op.geometry.output_shape)

    def adjoint(self, r: np.ndarray) -> np.ndarray:
        """``Aᵀ r`` on an output-space array, as an image."""
        return self.op.rmatvec(r.ravel()).reshape(self.shape)

    def reset(self, y: np.ndarray) -> None:
        """Take the data ``y`` (in the operator's dtype) and clear the iteration state."""
        self.y = np.asarray(y, dtype=self.op.dtype)
        self.iiter = 0
        self.history = []
        self.converged = False

    def record_change(self, new: np.ndarray, diff: np.ndarray) -> None:
        """Append ``‖diff‖ / ‖new‖`` (``diff = new − old``); converged when ``<= tol``."""
        top = float(np.sqrt(dot(diff, diff)))
        bottom = float(np.sqrt(dot(new, new)))
        change = top / bottom if bottom > 0 else (0.0 if top == 0 else 1.0)
        self.history.append(change)
        self.iiter += 1
        self.converged = change <= self.tol

    def objective(self, x: np.ndarray) -> float:  # pragma: no cover - abstract
        """The objective the solver minimises, at ``x``."""
        raise NotImplementedError

    def finalize(self) -> PriorResult:
        """The image (a fresh array owned by the caller) and its :class:`PriorReport`."""
        x = self.x.copy()
        rel = relative_norm(
            float(np.linalg.norm(self.forward(x) - self.y)), float(np.linalg.norm(self.y))
        )
        objective = self.objective(x)
        report = PriorReport(
            self.method,
            self.iiter,
            bool(self.converged),
            objective,
            rel,
            tuple(self.history),
            self.describe(objective, rel),
        )
        return PriorResult(x, report)

    def describe(self, objective: float, relative_residual: float) -> str:
        """The report's one-line message."""
        if self.converged:
            state = f"converged (relative change <= {self.tol:.0e})"
        else:
            state = (
                f"NOT converged: stopped at the iteration limit before tol={self.tol:.0e} "
                "(returning the last iterate)"
            )
        return (
            f"{self.method} {state} after {self.iiter} iterations, objective {objective:.6g}, "
            f"relative residual {relative_residual:.1e}"
        )
