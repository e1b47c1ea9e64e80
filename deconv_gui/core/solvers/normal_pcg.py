"""CG on the normal equations: the transposed layer's pseudo-inverse, and a tall conv's.

A transposed conv ``A = Bᵀ`` (``B`` the strided conv) upsamples: its ``A Aᵀ = Bᵀ B``
lives on the big map, where it is not shift-invariant (the stride makes it periodic in
blocks), so the conv's FFT preconditioner does not apply there. On the small map,
``Aᵀ A = B Bᵀ`` is the conv's own stationary ``A Aᵀ``: its symbol is the conjugate
transpose product of the conv's, and
:class:`~deconv_gui.core.solvers.preconditioner.SymbolPreconditioner` of ``B`` inverts it.
So the solve runs CG on ``(Aᵀ A + reg I) x = Aᵀ y`` with that preconditioner (CGNR); each
iteration is one forward and one adjoint, like the conv's.

**Minimum norm.** When ``A`` has full column rank (an upsampling layer whose conv ``B``
reads every small-map value independently: more big-map values than small ones, and a
symbol bounded away from zero), the normal equations have one solution, ``A⁺ y``, whatever
the preconditioner. :func:`applies` says when to take this path; otherwise the plain
output-space CG of :class:`~deconv_gui.core.solvers.pinv.PseudoInverseSolver` runs (its
iterates stay in the range of ``Aᵀ``).

**A tall conv** (more equations than unknowns, e.g. a channel-expanding first layer,
3 → 64) has ``A Aᵀ`` singular on the output grid (rank at most the number of unknowns),
so CG there crawls and its symbol has zeros, while ``Aᵀ A`` on the input grid is as
well conditioned as ``A`` allows. There the solve runs unpreconditioned (CGLS, the
preconditioner ``None``): its iterates are combinations of vectors ``Aᵀ(·)``, in the
range of ``Aᵀ``, so its least-squares answer is the minimum-norm one, ``A⁺ y``, whatever
the rank.

**Stopping rule** (as for the conv): ``reg = 0``: ``‖y − A x‖ ≤ rtol ‖y‖`` or the normal
residual ``‖Aᵀ(y − A x)‖ / (‖A‖ ‖y − A x‖) ≤ rtol``, or either at the data's precision
(:mod:`~deconv_gui.core.solvers.stopping`: float32 ``y = A x₀`` of a tall ``A`` lies just
outside its range, where ``rtol`` alone would chase the rounding); ``reg > 0``:
``‖Aᵀ y − (Aᵀ A + reg I) x‖ ≤ rtol ‖Aᵀ y‖``.

The solver takes any operator with ``apply`` and ``apply_adjoint`` (a network prefix's
``J`` too) when it runs without preconditioner.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from ..norms import relative_norm
from ..operator import ConvOperator
from .base import Callbacks, IterativeSolver, Reconstruction, dot
from .filter_norm import filter_norm
from .preconditioner import SymbolPreconditioner
from .stopping import data_precision, precision_words, within_precision

__all__ = ["LinearOperator", "NormalPCGSolver", "applies", "filter_norm", "is_tall"]

#: The symbol's smallest eigenvalue must exceed this fraction of its largest.
_SMALLEST = 1e-8


def applies(op: ConvOperator, preconditioner: SymbolPreconditioner) -> bool:
    """Whether ``op`` (a transposed layer) has full column rank as far as cheaply known:
    at least as many equations as unknowns and, with the full symbol, no eigenvalue of
    the conv's ``B Bᵀ`` symbol below 10⁻⁸ of its largest."""
    if not op.transposed or op.shape[0] < op.shape[1]:
        return False
    smallest = preconditioner.smallest
    return bool(np.isnan(smallest) or smallest > _SMALLEST * preconditioner.operator_norm**2)


def is_tall(op: ConvOperator) -> bool:
    """Whether ``op`` is a conv that is tall by its channels: more output channels than
    input values per stride cell (``C_out > C_in s_h s_w``, so the symbol of ``A Aᵀ`` is
    singular at every frequency) and more equations than unknowns.

    Examples
    --------
    >>> from deconv_gui.core import ConvOperator
    >>> image = (8, 8, 3)
    >>> w = np.ones((3, 3, 3, 16))
    >>> stem = ConvOperator.from_weights(w, input_shape=image, stride=2, padding=1)
    >>> same = ConvOperator.from_weights(np.ones((3, 3, 3, 3)), input_shape=image, padding=1)
    >>> is_tall(stem), is_tall(same)
    (True, False)
    """
    g = op.geometry
    per_cell = g.input_shape[2] * g.stride[0] * g.stride[1]
    return not op.transposed and g.output_shape[2] > per_cell and op.shape[0] >= op.shape[1]


def _norm(a: np.ndarray) -> float:
    return float(np.sqrt(dot(a, a)))


class LinearOperator(Protocol):
    """What the solver needs of ``A`` (a ``ConvOperator``, a network prefix's ``J``)."""

    def apply(self, x: Any) -> np.ndarray: ...

    def apply_adjoint(self, y: Any) -> np.ndarray: ...


class NormalPCGSolver(IterativeSolver):
    """CG on ``(Aᵀ A + reg I) x = Aᵀ y`` preconditioned on the input (small map) grid.

    Parameters
    ----------
    op : ConvOperator or LinearOperator
        A transposed layer (``op.transposed``; its ``conv`` gives the preconditioner), or
        a tall conv or any operator (without preconditioner).
    preconditioner : SymbolPreconditioner or None
        Of ``op.conv`` with the same ``reg``; None: none (CGLS, method ``"cgls-normal"``).
    reg, rtol, callbacks
        As for :class:`~deconv_gui.core.solvers.pinv.PseudoInverseSolver`.
    operator_norm : float, optional
        An estimate of ``‖A‖`` for the stopping rule; required without preconditioner.
    dtype : numpy dtype, optional
        The coarsest dtype of the data (the filter's and ``y``'s), whose precision stops
        the solve too (:mod:`~deconv_gui.core.solvers.stopping`); default: that of the
        ``y`` given to :meth:`setup`.
    """

    method = "pcg-normal"
    #: The phase (for the animation's labels; the output-space solver has two).
    phase = "pcg-normal"

    def __init__(
        self,
        op: ConvOperator | LinearOperator,
        preconditioner: SymbolPreconditioner | None,
        *,
        reg: float = 0.0,
        rtol: float = 1e-8,
        callbacks: Callbacks | None = None,
        operator_norm: float | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(callbacks=callbacks)
        self.dtype = dtype
        self.op = op
        self.preconditioner = preconditioner
        self.reg = float(reg)
        self.rtol = float(rtol)
        if preconditioner is None:
            if operator_norm is None:
                raise ValueError("operator_norm must be given when preconditioner is None")
            self.operator_norm = float(operator_norm)
            self.method = self.phase = "cgls-normal"
        else:
            if not isinstance(op, ConvOperator):
                raise ValueError("op must be a transposed ConvOperator with a preconditioner")
            self.operator_norm = float(preconditioner.operator_norm)
            self.full = op.conv.geometry.output_shape

    def precondition(self, r: np.ndarray) -> np.ndarray:
        """The conv's symbol preconditioner on the small map (a copy of ``r`` without
        one). Where the map is a crop of the conv's output (``A`` = crop ∘ ``Bᵀ``
        adjoint), the compression crop ∘ P ∘ extend-by-zero: still symmetric positive
        definite."""
        if self.preconditioner is None:
            return r.copy()
        if r.shape == self.full:
            return self.preconditioner(r)
        extended = np.zeros(self.full)
        h, w = r.shape[:2]
        extended[:h, :w] = r
        return np.ascontiguousarray(self.preconditioner(extended)[:h, :w])

    def setup(self, y: np.ndarray) -> None:
        """Start from ``x = 0``."""
        self.precision = data_precision(np.asarray(y).dtype if self.dtype is None else self.dtype)
        self.stop_reason = ""
        self.y = np.array(y, dtype=np.float64, copy=True)
        self.y_norm = _norm(self.y)
        self.iiter, self.history = 0, []
        self.residual = self.y.copy()  # y − A x
        self.normal = np.asarray(self.op.apply_adjoint(self.y), np.float64)  # Aᵀy − (AᵀA+reg)x
        self.x = np.zeros_like(self.normal)
        self.rhs_norm = _norm(self.normal)
        self.normal_residual = float("nan")
        self.converged = self.y_norm == 0.0 or self.rhs_norm == 0.0
        self.direction = self.precondition(self.normal)
        self.rho = dot(self.normal, self.direction)

    def step(self) -> None:
        """One CG iteration: one forward, one adjoint, one preconditioner application."""
        p = self.direction
        q = np.asarray(self.op.apply(p), np.float64)
        curved = np.asarray(self.op.apply_adjoint(q), np.float64)
        if self.reg:
            curved += self.reg * p
        curvature = dot(p, curved)
        self.iiter += 1
        if not curvature > 0:  # p in the null space: nothing left to gain
            self.history.append(_norm(self.residual) / self.y_norm)
            self.stopped = True
            return
        alpha = self.rho / curvature
        self.x += alpha * p
        self.residual -= alpha * q
        self.normal -= alpha * curved
        rel = _norm(self.residual) / self.y_norm
        self.history.append(rel)
        if self.reg:
            self.converged = _norm(self.normal) <= self.rtol * self.rhs_norm
        else:
            self._least_squares_stop(rel)
        if self.converged:
            return
        u = self.precondition(self.normal)
        rho = dot(self.normal, u)
        p *= rho / self.rho
        p += u
        self.rho = rho

    def _least_squares_stop(self, rel: float) -> None:
        """``reg = 0``: ``rtol`` on the residual or the normal residual, or the data's
        precision (:func:`~deconv_gui.core.solvers.stopping.within_precision`)."""
        r_norm = rel * self.y_norm
        scale = self.operator_norm * r_norm
        self.normal_residual = _norm(self.normal) / scale if scale > 0 else 0.0
        if rel <= self.rtol or self.normal_residual <= self.rtol:
            self.converged = True
            return
        self.stop_reason = within_precision(
            r_norm,
            self.y_norm,
            _norm(self.x),
            self.operator_norm,
            self.normal_residual,
            self.precision,
        )
        self.converged = bool(self.stop_reason)

    def current(self) -> np.ndarray:
        """The current iterate ``x_k`` as a fresh array."""
        return self.x.copy()

    def finalize(self) -> Reconstruction:
        """``(x, report)``; ``x`` a fresh float64 array owned by the caller."""
        x = self.x.copy()
        rel = relative_norm(_norm(self.y - self.op.apply(x)), self.y_norm)
        what = "Tikhonov " if self.reg else ""
        if self.stop_reason:
            state = precision_words(self.stop_reason, self.precision, self.normal_residual)
        elif self.converged:
            state = "converged"
        else:
            state = "NOT converged: stopped before rtol="
            state += f"{self.rtol:.0e} (returning the last iterate)"
        how = "CGLS" if self.preconditioner is None else "preconditioned by the conv's symbol"
        message = (
            f"{what}{self.method} (CG on the normal equations, {how}) {state} after "
            f"{self.iiter} iterations, relative residual {rel:.1e}"
        )
        return self.result(
            x, self.method, rel, message, normal_residual=float(self.normal_residual)
        )
