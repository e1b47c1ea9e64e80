"""The base of the first-order image solvers (FISTA, Richardson–Lucy) and their step size.

:class:`FirstOrderSolver` holds the operator, works only through its ``matvec`` and
``rmatvec``, stops on the relative change ``‖x_k − x_{k−1}‖ / ‖x_k‖`` and writes the
:class:`~deconv_gui.core.solvers.SolverReport`; :func:`operator_norm_bound` bounds
``‖A‖²`` (the Lipschitz constant of the data term's gradient) for every padding mode.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import lapack
from ..norms import relative_norm
from ..operator import ConvOperator
from ..padding import padded_index
from .base import IterativeSolver, Reconstruction, dot
from .preconditioner import diagonal_symbol, periodic_symbol

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .base import MonitorKeywords

__all__ = ["FirstOrderSolver", "operator_norm_bound", "starting_curvature"]


#: Above this many symbol entries (grid² C_out²), the bound takes the symbol's trace.
_FULL_SYMBOL_ENTRIES = 1 << 22


def _symbol_bound(op: ConvOperator, grid: int = 128) -> float:
    """``1.01 sup_ω λ_max(K̂(ω))``: ``‖A‖²`` of the stationary (zero-padded) operator.

    With many output channels (the full symbol would take more than 64 MiB), the trace
    ``sup_ω Σ_o K̂_oo(ω) ≥ sup_ω λ_max`` instead: still a bound, from the diagonal only.
    """
    # ‖Aᵀ‖ = ‖A‖: a transposed conv is bounded by its conv's symbol
    conv = op.conv
    c_out = conv.geometry.output_shape[2]
    if grid * grid * c_out * c_out > _FULL_SYMBOL_ENTRIES:
        trace = diagonal_symbol(conv, (grid, grid)).sum(axis=-1)
        return 1.01 * max(float(trace.max()), 0.0)
    symbol = periodic_symbol(conv, (grid, grid), onesided=False)
    top = float(lapack.eigvalsh(symbol).max())
    return 1.01 * max(top, 0.0)


def _read_multiplicity(op: ConvOperator) -> int:
    """The most times the padding copies one image pixel into the padded image."""
    geometry = op.conv.geometry
    if geometry.padding_mode == "zeros":
        return 1
    most = 1
    for n, sides in zip(geometry.input_shape[:2], geometry.pads, strict=True):
        index = padded_index(n, sides, geometry.padding_mode)
        most *= int(np.bincount(index[index >= 0], minlength=n).max())
    return most


def _schur_bound(op: ConvOperator) -> float:
    """Schur's test: ``‖A‖² ≤ max (|A|ᵀ |A| 1)`` (one forward and one adjoint with ``|w|``)."""
    conv = op.conv  # ‖Aᵀ‖ = ‖A‖
    absolute = ConvOperator(conv.geometry, np.abs(conv.weights).astype(np.float64))
    ones = np.ones(conv.geometry.input_shape)
    return float(absolute.apply_adjoint(absolute.apply(ones)).max())


def operator_norm_bound(op: ConvOperator, grid: int = 128) -> float:
    """A guaranteed upper bound of ``‖A‖²`` (the Lipschitz constant of ``x ↦ Aᵀ(A x − y)``).

    Notes
    -----
    The smaller of two bounds, each valid for every padding mode:

    * the symbol times the read multiplicity: the padded image is ``P x``, with ``P``
      copying image pixel ``i`` ``m_i`` times (once for zero padding), so
      ``‖A x‖² ≤ S ‖P x‖² ≤ S max m_i ‖x‖²`` where ``S = sup_ω λ_max(K̂(ω))`` is the norm
      of the stationary operator (:func:`~deconv_gui.core.solvers.periodic_symbol`; a
      trigonometric polynomial of a few taps whose maximum over a ``grid × grid``
      sampling is within a fraction of a percent of the supremum; 1 % is added);
    * Schur's test on ``|A|`` (the filter's magnitudes, same geometry):
      ``‖A‖² ≤ ‖|A|‖² ≤ max_i (|A|ᵀ|A| 1)_i``, as ``|A|ᵀ|A|`` has no negative entry.

    With zero padding the first is the symbol itself, tight for images larger than the
    filter. With copied borders the symbol alone is no bound (in 533 random operators it
    was down to 0.07× ``‖A‖²``) and both bounds can be a few times too large: the FISTA
    solver starts lower (:func:`starting_curvature`) and backtracks up to this bound.
    """
    symbol = _symbol_bound(op, grid)
    return min(symbol * _read_multiplicity(op), _schur_bound(op))


def starting_curvature(op: ConvOperator, bound: float) -> float:
    """Where backtracking starts: the guaranteed ``bound`` for zero padding, else the
    periodic symbol's ``‖A‖²`` (often too low with copied borders; the first steps then
    raise it, each to at least the curvature it measured)."""
    if op.conv.geometry.padding_mode == "zeros":
        return bound
    return min(_symbol_bound(op), bound)


class FirstOrderSolver(IterativeSolver):
    """Base of the first-order solvers: the operator, the stopping measure and the report.

    Parameters
    ----------
    op : ConvOperator
        The forward operator ``A``; the solver calls only ``matvec`` and ``rmatvec``.
    tol : float
        Stop when the relative change ``‖x_k − x_{k−1}‖ / ‖x_k‖`` is at most ``tol``.
    callbacks, progress, cancel
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
        **monitor: Unpack[MonitorKeywords],
    ) -> None:
        super().__init__(**monitor)
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
        self.stopped = False
        self.diverged = False

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

    def finalize(self) -> Reconstruction:
        """The image (a fresh array owned by the caller) and its :class:`SolverReport`."""
        x = self.x.copy()
        rel = relative_norm(
            float(np.linalg.norm(self.forward(x) - self.y)), float(np.linalg.norm(self.y))
        )
        objective = self.objective(x)
        gap = float(getattr(self, "gap", np.nan))
        return self.result(
            x, self.method, rel, self.describe(objective, rel), objective=objective, gap=gap
        )

    def converged_rule(self) -> str:
        """What "converged" meant, for the report."""
        return f"relative change <= {self.tol:.0e}"

    def describe(self, objective: float, relative_residual: float) -> str:
        """The report's one-line message."""
        if getattr(self, "diverged", False):
            state = (
                "DIVERGED: an iterate overflowed, so the solve stopped (returning the last "
                "finite iterate)"
            )
        elif self.converged:
            state = f"converged ({self.converged_rule()})"
        else:
            state = (
                f"NOT converged: stopped at the iteration limit before tol={self.tol:.0e} "
                "(returning the last iterate)"
            )
        gap = float(getattr(self, "gap", np.nan))
        measured = f", relative duality gap {gap:.1e}" if not np.isnan(gap) else ""
        return (
            f"{self.method} {state} after {self.iiter} iterations, objective {objective:.6g}, "
            f"relative residual {relative_residual:.1e}{measured}"
        )
