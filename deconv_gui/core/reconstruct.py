"""Reconstructions of the image from the forward output: transposed, normalised, pseudo-inverse.

(First version: correct but unpreconditioned CGLS. The fast solver lands with the
reconstructions issue; the signatures here are the contract.)
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np

from .conv import _adjoint, _forward, conv2d_transpose
from .geometry import ConvGeometry, as_float_array, normalize_bias, normalize_weights
from .operator import DENSE_COLUMN_LIMIT, ConvOperator
from .solvers import (
    CancelCheck,
    NotConvergedWarning,
    ProgressCallback,
    SolveCancelled,
    SolverReport,
    is_cancelled,
)

__all__ = [
    "PinvResult",
    "coverage_map",
    "normalized_transposed_reconstruction",
    "pinv_reconstruction",
    "transposed_reconstruction",
]


class PinvResult(NamedTuple):
    """The pseudo-inverse image and the report of the solve that produced it."""

    image: np.ndarray
    report: SolverReport


def _prepare(y: Any, weights: Any, bias: Any, input_shape: Any, stride, padding, dilation):
    w = normalize_weights(weights)
    geom = ConvGeometry(tuple(input_shape), w.shape, stride, padding, dilation)
    y_arr = as_float_array(y, "y")
    if y_arr.shape != geom.output_shape:
        raise ValueError(
            f"y must have shape {geom.output_shape} for input_shape {geom.input_shape} "
            f"and this filter, got {y_arr.shape}"
        )
    b = normalize_bias(bias, w.shape[3], y_arr.dtype)
    centred = y_arr - b if b is not None else y_arr
    return geom, w, centred


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
    return conv2d_transpose(
        centred,
        w,
        input_shape=geom.input_shape,
        stride=geom.stride,
        padding=geom.padding,
        dilation=geom.dilation,
    )


def coverage_map(
    weights: Any,
    *,
    input_shape: tuple[int, int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> np.ndarray:
    """``Aᵀ1``: the sum of the weights that touch each input pixel (the coverage map)."""
    w = normalize_weights(weights)
    geom = ConvGeometry(tuple(input_shape), w.shape, stride, padding, dilation)
    ones = np.ones((1, *geom.output_shape), dtype=w.dtype)
    return _adjoint(ones, w, geom)[0]


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
) -> np.ndarray | PinvResult:
    """The minimum-norm least-squares image ``A⁺(y − b)``, or Tikhonov when ``reg > 0``.

    Parameters
    ----------
    y, weights, bias, input_shape, stride, padding, dilation
        As for :func:`transposed_reconstruction`.
    reg : float
        Tikhonov weight (>= 0): argmin ‖A x − (y − b)‖² + reg ‖x‖².
    rtol : float
        Relative tolerance of the iterative solve.
    max_iter : int, optional
        Iteration limit (default: enough for any well-posed case).
    progress : callable, optional
        ``progress(iteration, relative_residual)`` after each iteration.
    cancel : callable or threading.Event, optional
        Checked between iterations; raises :class:`SolveCancelled` when set.
    return_report : bool
        Return a :class:`PinvResult` ``(image, report)`` instead of the image.

    Returns
    -------
    numpy.ndarray or PinvResult
        The image, of ``input_shape`` and the dtype of ``y``.

    Warns
    -----
    NotConvergedWarning
        When ``return_report`` is False and the iteration limit stopped the solve
        before ``rtol``.
    """
    if not np.isfinite(reg) or reg < 0:
        raise ValueError(f"reg must be a finite number >= 0, got {reg!r}")
    if not np.isfinite(rtol) or rtol <= 0:
        raise ValueError(f"rtol must be a finite number > 0, got {rtol!r}")
    if max_iter is not None and int(max_iter) < 1:
        raise ValueError(f"max_iter must be >= 1 or None, got {max_iter!r}")
    geom, w, centred = _prepare(y, weights, bias, input_shape, stride, padding, dilation)
    rhs = centred.astype(np.float64)
    if geom.n_unknowns <= DENSE_COLUMN_LIMIT:
        image, report = _dense_solve(geom, w, rhs, reg)
    else:
        image, report = _cgls(geom, w, rhs, reg, rtol, max_iter, progress, cancel)
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
        n = matrix.shape[1]
        x = np.linalg.solve(matrix.T @ matrix + reg * np.eye(n), matrix.T @ b)
    else:
        x = np.linalg.pinv(matrix) @ b
    rel = _relative(np.linalg.norm(matrix @ x - b), np.linalg.norm(b))
    report = SolverReport("dense", 0, rel, True, (rel,), f"dense solve, residual {rel:.1e}")
    return x.reshape(geom.input_shape), report


def _cgls(geom, w, rhs, reg, rtol, max_iter, progress, cancel):
    w64 = w.astype(np.float64)
    forward = lambda v: _forward(v[None], w64, geom)[0]  # noqa: E731
    adjoint = lambda v: _adjoint(v[None], w64, geom)[0]  # noqa: E731
    limit = int(max_iter) if max_iter is not None else 500
    x = np.zeros(geom.input_shape)
    residual = rhs.copy()
    s = adjoint(residual)
    direction = s.copy()
    gamma = float(np.vdot(s, s))
    gamma0 = gamma
    norm_b = float(np.linalg.norm(rhs))
    history: list[float] = []
    converged = gamma0 == 0.0
    it = 0
    while not converged and it < limit:
        if is_cancelled(cancel):
            raise SolveCancelled("pseudo-inverse solve cancelled")
        q = forward(direction)
        delta = float(np.vdot(q, q)) + reg * float(np.vdot(direction, direction))
        alpha = gamma / delta
        x += alpha * direction
        residual -= alpha * q
        s = adjoint(residual) - reg * x
        gamma_new = float(np.vdot(s, s))
        it += 1
        rel = _relative(float(np.linalg.norm(residual)), norm_b)
        history.append(rel)
        if progress is not None:
            progress(it, rel)
        converged = rel <= rtol or gamma_new <= (rtol**2) * gamma0
        direction = s + (gamma_new / gamma) * direction
        gamma = gamma_new
    rel = history[-1] if history else 0.0
    state = "converged" if converged else "NOT converged (iteration limit)"
    message = f"CGLS {state} after {it} iterations, relative residual {rel:.1e}"
    return x, SolverReport("cgls", it, rel, converged, tuple(history), message)
