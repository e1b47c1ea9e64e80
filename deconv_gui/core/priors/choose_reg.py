"""The Tikhonov weight from the data: the discrepancy principle or generalized cross-validation.

Notes
-----
``x_reg = argmin ‖A x − (y − b)‖² + reg ‖x‖²`` is the Tikhonov image of
:func:`~deconv_gui.core.pinv_reconstruction`, ``r(reg) = ‖A x_reg − (y − b)‖`` its
residual and ``H(reg) = A (AᵀA + reg I)⁻¹ Aᵀ`` the influence matrix (``m`` rows).

* **Discrepancy principle** (noise level σ known): the ``reg`` with
  ``r(reg) = sqrt(m) σ``, the expected norm of the noise. ``r`` increases with ``reg``
  from the least-squares residual to ``‖y − b‖``, so the root is found by Brent's
  method on ``log reg``.
* **GCV** (σ unknown): the minimiser of ``G(reg) = m r(reg)² / tr(I − H(reg))²``
  (Golub, Heath & Wahba 1979), first on a coarse grid of decades, then by a bounded
  Brent search around the best decade.

Up to ``DENSE_COLUMN_LIMIT`` unknowns both use the SVD of the explicit matrix
(``r`` and the trace in closed form). Above it every evaluation is a matrix-free
Tikhonov solve, and the trace uses Hutchinson's estimator with Rademacher probes
``z`` (the same probes for every ``reg``, so the estimated curve is smooth):
``tr(I − H) = reg tr((A Aᵀ + reg I)⁻¹) ≈ mean zᵀ(z − A x_z)``, where ``x_z`` is the
Tikhonov image of the data ``z``, because ``A x_z = A Aᵀ(A Aᵀ + reg I)⁻¹ z``. Its
relative error is about ``sqrt(2 / (n_probes m))`` for a nearly diagonal ``A Aᵀ``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from .. import lapack
from ..choices import check_choice
from ..keywords import split_options
from ..operator import DENSE_COLUMN_LIMIT, ConvOperator
from ..solvers import (
    SolveCancelled,
    deliver,
    is_cancelled,
    solve_pinv,
)
from ..solvers.first_order import operator_norm_bound
from .base import check_count, check_number, prepare, shared_doc

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..keywords import WatchedKeywords

__all__ = ["RULES", "RegChoice", "choose_reg"]

#: Values of ``choose_reg(rule=...)``.
RULES = ("auto", "discrepancy", "gcv")
#: Values of ``choose_reg(method=...)``.
METHODS = ("auto", "dense", "iterative")
#: The searched range of ``log10(reg / ‖A‖²)``.
_LOG_RANGE = (-8.0, 2.0)
#: Relative tolerance of the matrix-free Tikhonov solves.
_SOLVE_RTOL = 1e-7


class RegChoice(NamedTuple):
    """The chosen Tikhonov weight and how it was found.

    Attributes
    ----------
    reg : float
        The chosen weight (0 when the discrepancy principle asks for less than the
        least-squares residual: then the pseudo-inverse already fits the noise level).
    rule : str
        ``"discrepancy"`` or ``"gcv"``.
    residual : float
        ``‖A x_reg − (y − b)‖`` at the chosen weight.
    target : float
        ``sqrt(m) σ`` for the discrepancy principle, NaN for GCV.
    gcv : float
        ``G(reg)`` for GCV, NaN for the discrepancy principle.
    evaluations : int
        Number of ``reg`` values tried (each one Tikhonov solve on the dense path's SVD,
        or ``1 + n_probes`` matrix-free solves for GCV).
    method : str
        ``"dense"`` (SVD) or ``"iterative"`` (matrix-free solves).
    """

    reg: float
    rule: str
    residual: float
    target: float
    gcv: float
    evaluations: int
    method: str


class _Curve:
    """``r(reg)`` and ``tr(I − H(reg))`` by SVD (dense) or by Tikhonov solves (matrix-free)."""

    def __init__(self, op: ConvOperator, y: np.ndarray, dense: bool, n_probes: int, cancel):
        # float64 throughout: the curve's differences are small near its minimum
        self.op = op.replace(dtype=np.float64)
        self.y, self.dense, self.cancel = y.astype(np.float64), dense, cancel
        self.m = op.shape[0]
        if dense:
            matrix = self.op.to_dense()
            u, s, _ = lapack.svd(matrix, full_matrices=False)
            self.s2 = s**2
            self.beta = u.T @ self.y.ravel()
            self.outside = max(float(self.y.ravel() @ self.y.ravel() - self.beta @ self.beta), 0.0)
        else:
            rng = np.random.default_rng(0)
            shape = op.geometry.output_shape
            self.probes = [rng.choice((-1.0, 1.0), size=shape) for _ in range(n_probes)]

    def _tikhonov(self, data: np.ndarray, reg: float) -> np.ndarray:
        """``A x_reg`` for the data ``data``, flattened."""
        solved = solve_pinv(
            self.op, data, reg=reg, rtol=_SOLVE_RTOL, method="iterative", cancel=self.cancel
        )
        return self.op.matvec(solved.image.ravel())

    def residual(self, reg: float) -> float:
        if is_cancelled(self.cancel):
            raise SolveCancelled("choose_reg cancelled")
        if self.dense:
            filt = reg / (self.s2 + reg) if reg > 0 else (self.s2 == 0).astype(float)
            return float(np.sqrt(np.sum((filt * self.beta) ** 2) + self.outside))
        return float(np.linalg.norm(self._tikhonov(self.y, reg) - self.y.ravel()))

    def trace(self, reg: float) -> float:
        if self.dense:
            return float(self.m - np.sum(self.s2 / (self.s2 + reg)))
        values = [float(z.ravel() @ (z.ravel() - self._tikhonov(z, reg))) for z in self.probes]
        return float(np.mean(values))

    def gcv(self, reg: float) -> float:
        trace = self.trace(reg)
        return self.m * self.residual(reg) ** 2 / trace**2 if trace > 0 else float("inf")


def _discrepancy(residual: Callable[[float], float], target: float, y_norm: float) -> float:
    """The ``t = log10(reg / scale)`` with ``residual(t) = target`` (-inf when below the range)."""
    lo, hi = _LOG_RANGE
    while residual(hi) < target:
        hi += 2.0
        if hi > 12:  # residual approaches ‖y‖ only from below
            raise ValueError(
                f"sigma is too large: sqrt(m)·sigma = {target:.3g} is not below ‖y − b‖ = "
                f"{y_norm:.3g}; no reg fits that noise level"
            )
    if residual(lo) > target:
        return -np.inf  # even (almost) no regularisation leaves more than the noise level
    return float(brentq(lambda t: np.log(residual(t) / target), lo, hi, xtol=1e-4, rtol=1e-10))


def _gcv(gcv: Callable[[float], float]) -> float:
    """The ``t = log10(reg / scale)`` minimising ``gcv(t)``: a grid of decades, then Brent."""
    lo, hi = _LOG_RANGE
    grid = np.arange(lo, hi + 0.5, 1.0)
    values = [gcv(t) for t in grid]
    best = int(np.argmin(values))
    left, right = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    found = minimize_scalar(gcv, bounds=(left, right), method="bounded", options={"xatol": 0.01})
    return float(found.x) if found.fun <= values[best] else float(grid[best])


@shared_doc
def choose_reg(
    y: Any,
    weights: Any,
    bias: Any = None,
    *,
    sigma: float | None = None,
    rule: str = "auto",
    method: str = "auto",
    n_probes: int = 3,
    **options: Unpack[WatchedKeywords],
) -> RegChoice:
    """The Tikhonov weight ``reg`` for :func:`~deconv_gui.core.pinv_reconstruction`, from the data.

    Parameters
    ----------
    %(problem)s
    sigma : float, optional
        The noise standard deviation per output value (> 0), for the discrepancy principle.
    rule : {"auto", "discrepancy", "gcv"}
        ``"auto"``: the discrepancy principle when ``sigma`` is given, GCV otherwise.
    method : {"auto", "dense", "iterative"}
        ``"auto"``: the SVD up to ``DENSE_COLUMN_LIMIT`` unknowns, matrix-free above.
    n_probes : int
        Rademacher probes of the matrix-free GCV trace estimate (>= 1).
    progress : callable, optional
        ``progress(evaluation, value)`` after each evaluated ``reg`` (value: the GCV
        function, or the log-ratio of residual to target at the end).
    %(choice_cancel)s

    Returns
    -------
    RegChoice
        The chosen ``reg`` (>= 0) and how it was found.

    Raises
    ------
    ValueError
        On bad arguments (the message names the argument), ``rule="discrepancy"``
        without ``sigma``, or a ``sigma`` so large that no ``reg`` fits it.
    %(cancelled)s

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import choose_reg, conv2d, make_filter
    >>> rng = np.random.default_rng(0)
    >>> x = rng.random((12, 12, 1))
    >>> w = make_filter("gaussian", size=3, in_channels=1)
    >>> y = conv2d(x, w, padding=1) + 0.01 * rng.standard_normal((12, 12, 1))
    >>> choice = choose_reg(y, w, input_shape=x.shape, padding=1, sigma=0.01)
    >>> bool(choice.reg > 0), choice.rule
    (True, 'discrepancy')
    """
    check_choice("rule", rule, RULES)
    check_choice("method", method, METHODS)
    if sigma is not None:
        sigma = check_number(sigma, "sigma", strict=True)
    if rule == "auto":
        rule = "discrepancy" if sigma is not None else "gcv"
    if rule == "discrepancy" and sigma is None:
        raise ValueError("sigma is required for rule='discrepancy' (the noise level per value)")
    n_probes = check_count(n_probes, "n_probes")
    problem, watch, return_report = split_options(options, "choose_reg", "WatchedKeywords")
    progress, cancel = watch.get("progress"), watch.get("cancel")
    op, centred = prepare(y, weights, bias, **problem)
    dense = method == "dense" or (method == "auto" and op.shape[1] <= DENSE_COLUMN_LIMIT)
    if dense and op.shape[1] > DENSE_COLUMN_LIMIT:
        raise ValueError(
            f"method='dense' is for at most {DENSE_COLUMN_LIMIT:,} unknowns, "
            f"this problem (input_shape {op.geometry.input_shape}) has {op.shape[1]:,}"
        )
    y_norm = float(np.linalg.norm(centred))
    if y_norm == 0:
        raise ValueError("y − bias is zero: there is nothing to fit, so no reg to choose")
    scale = operator_norm_bound(op)
    if scale == 0:
        raise ValueError("weights are all zero: A x = 0 for every image, so no reg to choose")
    curve = _Curve(op, centred, dense, n_probes, cancel)
    evaluations = 0

    def evaluated(value: float) -> float:
        nonlocal evaluations
        evaluations += 1
        if progress is not None:
            progress(evaluations, float(value))
        return value

    target = gcv_value = float("nan")
    if rule == "discrepancy":
        target = float(np.sqrt(op.shape[0]) * sigma)
        t = _discrepancy(lambda t: evaluated(curve.residual(scale * 10.0**t)), target, y_norm)
    else:
        t = _gcv(lambda t: evaluated(curve.gcv(scale * 10.0**t)))
    reg = float(scale * 10.0**t) if np.isfinite(t) else 0.0
    if rule == "gcv":
        gcv_value = curve.gcv(reg)
    kind = "dense" if dense else "iterative"
    choice = RegChoice(reg, rule, curve.residual(reg), target, gcv_value, evaluations, kind)
    return deliver(choice, return_report, plain="reg")
