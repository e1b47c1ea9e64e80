"""Reconstructions of the image from the forward output: transposed, normalised, pseudo-inverse.

Notes
-----
``A`` is the linear part of the strided convolution, ``y − b`` the centred output.

* :func:`transposed_reconstruction` is ``Aᵀ(y − b)``, what a "deconvolution"
  (transposed convolution) layer computes; :func:`normalized_transposed_reconstruction`
  divides it by the coverage ``Aᵀ1``.
* :func:`pinv_reconstruction` is ``A⁺(y − b)``: below ``DENSE_COLUMN_LIMIT`` unknowns
  by ``numpy.linalg.pinv`` of the explicit matrix (exact to rounding), above it by
  :class:`~deconv_gui.core.solvers.PseudoInverseSolver`: preconditioned CG on the
  small output-grid system ``A Aᵀ z = y − b`` with ``x = Aᵀ z``, preconditioned by
  the FFT of the stationary symbol of ``A Aᵀ``
  (:class:`~deconv_gui.core.solvers.preconditioner.SymbolPreconditioner`), switching to
  CGLS when ``y`` is outside the range of ``A``. The solvers module explains why this
  gives the minimum-norm solution and what the report's numbers mean. Everything is
  computed in float64 and returned in the dtype of ``y``.
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np

from . import _kernels
from .geometry import ConvGeometry, centred_output, geometry_for, weights_for
from .operator import DENSE_COLUMN_LIMIT, ConvOperator
from .solvers import (
    CancelCheck,
    NotConvergedWarning,
    ProgressCallback,
    PseudoInverseSolver,
    SolverReport,
)
from .solvers.preconditioner import SymbolPreconditioner

__all__ = [
    "PinvResult",
    "coverage_map",
    "make_pinv_solver",
    "normalized_transposed_reconstruction",
    "pinv_reconstruction",
    "transposed_reconstruction",
]


class PinvResult(NamedTuple):
    """The pseudo-inverse image and the report of the solve that produced it."""

    image: np.ndarray
    report: SolverReport


def _prepare(y: Any, weights: Any, bias: Any, input_shape: Any, stride, padding, dilation):
    geom, w = geometry_for(weights, input_shape, stride, padding, dilation)
    return geom, w, centred_output(y, geom, bias)


def transposed_reconstruction(
    y: Any,
    weights: Any,
    bias: Any = None,
    *,
    input_shape: tuple[int, int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> np.ndarray:
    """``Aᵀ(y − b)``: what a "deconvolution" (transposed convolution) layer computes.

    Returns an array of ``input_shape`` in the dtype of ``y``.
    """
    geom, w, centred = _prepare(y, weights, bias, input_shape, stride, padding, dilation)
    # validated once by _prepare: the kernel itself, not conv2d_transpose's checks again
    return _kernels.adjoint(centred[np.newaxis], w.astype(centred.dtype, copy=False), geom)[0]


def coverage_map(
    weights: Any,
    *,
    input_shape: tuple[int, int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> np.ndarray:
    """``Aᵀ1``: the sum of the weights that touch each input pixel (the coverage map)."""
    geom, w = geometry_for(weights, input_shape, stride, padding, dilation)
    ones = np.ones((1, *geom.output_shape), dtype=w.dtype)
    return _kernels.adjoint(ones, w, geom)[0]


def normalized_transposed_reconstruction(
    y: Any,
    weights: Any,
    bias: Any = None,
    *,
    input_shape: tuple[int, int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> np.ndarray:
    """``Aᵀ(y − b) ⊘ Aᵀ1``, with 0 where the coverage is (numerically) zero.

    Notes
    -----
    Dividing by the coverage map removes the checkerboard that a transposed
    convolution paints when the kernel size is not a multiple of the stride.
    """
    adjoint = transposed_reconstruction(
        y,
        weights,
        bias,
        input_shape=input_shape,
        stride=stride,
        padding=padding,
        dilation=dilation,
    )
    cover = coverage_map(
        weights, input_shape=input_shape, stride=stride, padding=padding, dilation=dilation
    ).astype(adjoint.dtype, copy=False)
    scale = np.abs(cover).max() if cover.size else 0.0
    nonzero = np.abs(cover) > 1e-12 * max(scale, 1e-300)
    out = np.zeros_like(adjoint)
    np.divide(adjoint, cover, out=out, where=nonzero)
    return out


def make_pinv_solver(
    geometry: ConvGeometry,
    weights: Any,
    *,
    reg: float = 0.0,
    rtol: float = 1e-8,
    preconditioned: bool = True,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
) -> PseudoInverseSolver:
    """The matrix-free pseudo-inverse solver for one convolution geometry.

    Parameters
    ----------
    geometry : ConvGeometry
        Shapes and hyper-parameters of ``A``.
    weights : array_like
        The filter, matching ``geometry.filter_shape``; used in float64.
    reg, rtol, progress, cancel
        As for :func:`pinv_reconstruction`.
    preconditioned : bool
        Use the FFT symbol preconditioner (True) or none (plain CG on ``A Aᵀ``).

    Returns
    -------
    PseudoInverseSolver
        Call ``solve(y_centred, max_iter)`` on an ``(H_out, W_out, C_out)`` array to
        get ``(x, report)``.
    """
    w64 = weights_for(geometry, weights).astype(np.float64)

    def forward(image: np.ndarray) -> np.ndarray:
        return _kernels.forward(image[np.newaxis], w64, geometry)[0]

    def adjoint(output: np.ndarray) -> np.ndarray:
        return _kernels.adjoint(output[np.newaxis], w64, geometry)[0]

    preconditioner = SymbolPreconditioner(geometry, w64, reg) if preconditioned else None
    return PseudoInverseSolver(
        forward,
        adjoint,
        preconditioner=preconditioner,
        reg=reg,
        rtol=rtol,
        operator_norm=preconditioner.operator_norm if preconditioner is not None else None,
        progress=progress,
        cancel=cancel,
    )


#: Values of ``pinv_reconstruction(method=...)``.
PINV_METHODS = ("auto", "dense", "iterative")


def pinv_reconstruction(
    y: Any,
    weights: Any,
    bias: Any = None,
    *,
    input_shape: tuple[int, int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    reg: float = 0.0,
    rtol: float = 1e-8,
    max_iter: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    return_report: bool = False,
    method: str = "auto",
) -> np.ndarray | PinvResult:
    """The minimum-norm least-squares image ``A⁺(y − b)``, or Tikhonov when ``reg > 0``.

    Parameters
    ----------
    y, weights, bias, input_shape, stride, padding, dilation
        As for :func:`transposed_reconstruction`.
    reg : float
        Tikhonov weight (>= 0): argmin ‖A x − (y − b)‖² + reg ‖x‖².
    rtol : float
        Relative tolerance of the iterative solve (see
        :mod:`deconv_gui.core.solvers` for the exact stopping rules).
    max_iter : int, optional
        Iteration limit (default 300; one iteration costs one forward and one adjoint).
    progress : callable, optional
        ``progress(iteration, relative_residual)`` after each iteration.
    cancel : callable or threading.Event, optional
        Checked between iterations; raises :class:`SolveCancelled` when set.
    return_report : bool
        Return a :class:`PinvResult` ``(image, report)`` instead of the image.
    method : {"auto", "dense", "iterative"}
        ``"auto"``: dense ``numpy.linalg`` up to ``DENSE_COLUMN_LIMIT`` unknowns,
        iterative above. The other two force one path (dense refuses big problems).

    Returns
    -------
    numpy.ndarray or PinvResult
        The image, of ``input_shape`` and the dtype of ``y``.

    Raises
    ------
    ValueError
        On bad arguments (the message names the argument).
    SolveCancelled
        When ``cancel`` fired during the iterative solve.

    Warns
    -----
    NotConvergedWarning
        When ``return_report`` is False and the iteration limit stopped the solve
        before ``rtol``.
    """
    try:
        reg = float(reg)
        rtol = float(rtol)
    except (TypeError, ValueError):
        raise ValueError(f"reg and rtol must be numbers, got reg={reg!r}, rtol={rtol!r}") from None
    if not np.isfinite(reg) or reg < 0:
        raise ValueError(f"reg must be a finite number >= 0, got {reg!r}")
    if not np.isfinite(rtol) or rtol <= 0:
        raise ValueError(f"rtol must be a finite number > 0, got {rtol!r}")
    if max_iter is not None and (
        not isinstance(max_iter, (int, np.integer)) or isinstance(max_iter, bool) or max_iter < 1
    ):
        raise ValueError(f"max_iter must be an int >= 1 or None, got {max_iter!r}")
    if method not in PINV_METHODS:
        raise ValueError(f"method must be one of {', '.join(PINV_METHODS)}, got {method!r}")
    geom, w, centred = _prepare(y, weights, bias, input_shape, stride, padding, dilation)
    rhs = centred.astype(np.float64)
    dense = method == "dense" or (method == "auto" and geom.n_unknowns <= DENSE_COLUMN_LIMIT)
    if dense:
        image, report = _dense_solve(geom, w, rhs, reg)
    else:
        solver = make_pinv_solver(geom, w, reg=reg, rtol=rtol, progress=progress, cancel=cancel)
        image, report = solver.solve(rhs, max_iter)
    image = image.astype(centred.dtype, copy=False)
    if return_report:
        return PinvResult(image, report)
    if not report.converged:
        warnings.warn(report.message, NotConvergedWarning, stacklevel=2)
    return image


def _relative(value: float, reference: float) -> float:
    return float(value / reference) if reference > 0 else 0.0


def _dense_solve(geom: ConvGeometry, w: np.ndarray, rhs: np.ndarray, reg: float):
    matrix = ConvOperator(geom, w.astype(np.float64)).to_dense()
    b = rhs.ravel()
    if reg > 0:
        m = matrix.shape[0]
        # (AᵀA + reg I)⁻¹ Aᵀ = Aᵀ (A Aᵀ + reg I)⁻¹: solve on the smaller side
        if m <= matrix.shape[1]:
            x = matrix.T @ np.linalg.solve(matrix @ matrix.T + reg * np.eye(m), b)
        else:
            n = matrix.shape[1]
            x = np.linalg.solve(matrix.T @ matrix + reg * np.eye(n), matrix.T @ b)
    else:
        x = np.linalg.pinv(matrix) @ b
    rel = _relative(np.linalg.norm(matrix @ x - b), np.linalg.norm(b))
    what = "Tikhonov " if reg > 0 else ""
    report = SolverReport("dense", 0, rel, True, (rel,), f"{what}dense solve, residual {rel:.1e}")
    return x.reshape(geom.input_shape), report
