"""Click to inspect: rows of ``A⁺`` ("effective kernels"), dense or matrix-free."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .. import lapack
from ..choices import check_choice
from ..geometry import ConvGeometry
from ..keywords import split_options, takes_geometry
from ..operator import ConvOperator, as_operator
from ..solvers import (
    CancelCheck,
    ProgressCallback,
    SolveCancelled,
    SolverReport,
    deliver,
    is_cancelled,
    solve_pinv,
)
from ..solvers.dense import dense_pinv
from ..solvers.preconditioner import symbol_preconditioner
from .pixels import as_pixel

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..keywords import WatchedKeywords

__all__ = ["EFFECTIVE_KERNEL_DENSE_LIMIT", "EffectiveKernel", "effective_kernel"]


#: :func:`effective_kernel` uses ``numpy.linalg`` on the dense matrix up to this many
#: unknowns (``method="auto"``), the matrix-free solve above it.
EFFECTIVE_KERNEL_DENSE_LIMIT = 1024


class EffectiveKernel(NamedTuple):
    """A row of ``A⁺`` as an output-space image, with the solve's report."""

    image: np.ndarray
    report: SolverReport


@takes_geometry
def effective_kernel(
    weights: Any,
    pixel: Any,
    *,
    reg: float = 0.0,
    rtol: float = 1e-8,
    max_iter: int | None = None,
    method: str = "auto",
    **options: Unpack[WatchedKeywords],
) -> EffectiveKernel:
    """Row ``i`` of ``A⁺`` (the weights the pseudo-inverse gives each output for one input pixel).

    Parameters
    ----------
    %(weights)s
    pixel : (row, col) or (row, col, channel)
        The input pixel ``i`` (channel 0 when omitted).
    input_shape, stride, padding, dilation, padding_mode, groups, flip
        As for :func:`conv2d_transpose`.
    reg : float
        Tikhonov weight (>= 0): the row of ``(AᵀA + reg I)⁻¹ Aᵀ`` instead.
    rtol : float
        Relative tolerance of the iterative solve: ``‖A e_i − (A Aᵀ + reg I) v‖ ≤
        rtol ‖A e_i‖`` (for ``"cgls"``, the same quantity, its normal equations).
    max_iter : int, optional
        Iteration limit of the iterative solve (default 1000).
    method : {"auto", "dense", "iterative", "cgls"}
        ``"dense"``: the SVD pseudo-inverse of the explicit matrix, cut at the filter's
        precision (:func:`~deconv_gui.core.solvers.dense.dense_pinv`; small problems).
        ``"iterative"``: matrix-free conjugate gradients on ``A Aᵀ`` with an FFT
        preconditioner from the operator's symbol. ``"cgls"``: plain CGLS on ``Aᵀ``
        (no preconditioner; slow on ill-conditioned filters, kept as a reference).
        ``"auto"``: dense up to ``EFFECTIVE_KERNEL_DENSE_LIMIT`` unknowns, else
        ``"iterative"``.
    progress : callable, optional
        ``progress(iteration, relative_residual)`` during the iterative solve (the
        quantity ``rtol`` bounds).
    cancel : callable or threading.Event, optional
        Checked between iterations; raises :class:`SolveCancelled`.
    %(report)s

    Returns
    -------
    EffectiveKernel
        ``image`` ``(H_out, W_out, C_out)`` float64 and the solve's report: the
        pseudo-inverse reconstruction at pixel ``i`` is ``Σ image ⊙ (y − b)``. Unlike
        ``Aᵀ``'s row (the filter, local), it spreads over the whole output.

    Notes
    -----
    Row :math:`i` of :math:`A^+` is :math:`(A^+)^T e_i = (A^T)^+ e_i`, the
    minimum-norm least-squares solution :math:`v` of :math:`A^T v \\approx e_i`
    (equivalently :math:`v = (A A^T)^+ A e_i`, since :math:`A^+ = A^T (A A^T)^+`).
    ``"iterative"`` solves :math:`(A A^T + \\lambda I) v = A e_i` (a consistent
    system: :math:`A e_i \\in \\mathrm{range}(A A^T)`) by conjugate gradients
    preconditioned with the inverse of the periodic symbol of :math:`A A^T`
    (:class:`~deconv_gui.core.solvers.preconditioner.SymbolPreconditioner`, the one the
    pseudo-inverse solver uses), the row of
    :math:`(A^T A + \\lambda I)^{-1} A^T = A^T (A A^T + \\lambda I)^{-1}`
    (:math:`\\lambda` = ``reg``; 0 gives :math:`A^+`). If :math:`A A^T` is singular the
    preconditioner may add a component in :math:`\\mathrm{null}(A^T)`, so when
    ``reg = 0`` the result is projected onto :math:`\\mathrm{range}(A)` as
    :math:`A (A^+ v)` with one :func:`pinv_reconstruction` -- unless ``A`` is known
    to have full row rank: one output channel, no padding and a non-zero filter (each
    row's first non-zero entry, at the first non-zero tap, sits in a different column,
    so the rows are in echelon form). ``"cgls"`` runs CGLS on :math:`B = A^T`
    (:math:`B^T = A`) from :math:`v_0 = 0`; its iterates stay in
    :math:`\\mathrm{range}(A)`, so it needs no projection.
    The report's ``relative_residual`` is :math:`\\|A^T v - e_i\\|`, the part of
    :math:`e_i` outside the row space (not small when the nullity is positive).

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import dense_matrices, effective_kernel, make_filter
    >>> w = make_filter("seed_question")
    >>> row = effective_kernel(w, (3, 3, 0), input_shape=(7, 7, 3), stride=2)
    >>> a_pinv = dense_matrices(w, input_shape=(7, 7, 3), stride=2).A_pinv
    >>> bool(np.allclose(row.image.ravel(), a_pinv[(3 * 7 + 3) * 3 + 0]))
    True
    """
    check_choice("method", method, ("auto", "dense", "iterative", "cgls"))
    if not np.isfinite(reg) or reg < 0:
        raise ValueError(f"reg must be a finite number >= 0, got {reg!r}")
    if not np.isfinite(rtol) or rtol <= 0:
        raise ValueError(f"rtol must be a finite number > 0, got {rtol!r}")
    if max_iter is not None and int(max_iter) < 1:
        raise ValueError(f"max_iter must be >= 1 or None, got {max_iter!r}")
    problem, watch, return_report = split_options(options, "effective_kernel", "WatchedKeywords")
    progress, cancel = watch.get("progress"), watch.get("cancel")
    op = as_operator(weights, **problem)
    geom = op.geometry
    r, c, ch = as_pixel(pixel, "pixel", geom.input_shape)
    index = (r * geom.input_shape[1] + c) * geom.input_shape[2] + ch
    dense = method == "dense" or (
        method == "auto" and geom.n_unknowns <= EFFECTIVE_KERNEL_DENSE_LIMIT
    )
    limit = int(max_iter) if max_iter is not None else 1000
    if dense:
        row, report = _dense_row(op, index, reg)
    elif method == "cgls":
        row, report = _adjoint_cgls(_RowSolve(op, (r, c, ch), reg, rtol, limit, progress, cancel))
    else:
        row, report = _symbol_pcg(_RowSolve(op, (r, c, ch), reg, rtol, limit, progress, cancel))
    image = row.reshape(geom.output_shape)
    return deliver(EffectiveKernel(image, report), return_report)


class _RowSolve(NamedTuple):
    """One iterative solve for a row of ``A⁺``: the operator, the pixel and the options."""

    op: ConvOperator
    pixel: tuple[int, int, int]
    reg: float
    rtol: float
    limit: int
    progress: ProgressCallback | None
    cancel: CancelCheck | None


def _dense_row(op: ConvOperator, index: int, reg: float) -> tuple[np.ndarray, SolverReport]:
    matrix = op.to_dense(np.float64)
    if reg > 0:
        m = matrix.shape[0]
        row = lapack.solve(matrix @ matrix.T + reg * np.eye(m), matrix[:, index])
    else:
        row = dense_pinv(matrix, dtype=op.dtype)[index]
    unit = np.zeros(matrix.shape[1])
    unit[index] = 1.0
    rel = float(np.linalg.norm(matrix.T @ row - unit))
    report = SolverReport("dense", 0, rel, True, (rel,), f"dense row of A⁺, ‖Aᵀv − eᵢ‖ {rel:.1e}")
    return row, report


def _adjoint_cgls(task: _RowSolve) -> tuple[np.ndarray, SolverReport]:
    """CGLS for min ‖Aᵀ v − e_i‖² + reg ‖v‖², v in the output space."""
    op, pixel, reg, rtol, limit, progress, cancel = task
    geom, forward, adjoint = op.geometry, op.apply, op.apply_adjoint  # Bᵀ = A, B = Aᵀ
    v = np.zeros(geom.output_shape)
    residual = np.zeros(geom.input_shape)
    residual[pixel] = 1.0
    s = forward(residual)
    direction = s.copy()
    gamma = float(np.vdot(s, s))
    gamma0 = gamma
    history: list[float] = []
    converged = gamma0 == 0.0
    it = 0
    while not converged and it < limit:
        if is_cancelled(cancel):
            raise SolveCancelled("effective-kernel solve cancelled")
        q = adjoint(direction)
        delta = float(np.vdot(q, q)) + reg * float(np.vdot(direction, direction))
        alpha = gamma / delta
        v += alpha * direction
        residual -= alpha * q
        s = forward(residual) - reg * v
        gamma_new = float(np.vdot(s, s))
        it += 1
        rel = float(np.sqrt(gamma_new / gamma0))
        history.append(rel)
        if progress is not None:
            progress(it, rel)
        converged = rel <= rtol
        direction = s + (gamma_new / gamma) * direction
        gamma = gamma_new
    outside = float(np.linalg.norm(residual))
    state = "converged" if converged else "NOT converged (iteration limit)"
    message = (
        f"CGLS on Aᵀ {state} after {it} iterations, normal-equation residual "
        f"{history[-1] if history else 0.0:.1e}, ‖Aᵀv − eᵢ‖ {outside:.1e}"
    )
    return v, SolverReport("cgls-adjoint", it, outside, converged, tuple(history), message)


def _full_row_rank(geom: ConvGeometry) -> bool:
    """Sufficient condition (the filter being non-zero): one output channel, no padding."""
    return geom.output_shape[2] == 1 and geom.pads == ((0, 0), (0, 0))


def _symbol_pcg(task: _RowSolve) -> tuple[np.ndarray, SolverReport]:
    """Preconditioned CG for ``(A Aᵀ + reg I) v = A e_i`` on the output grid."""
    op, pixel, reg, rtol, limit, progress, cancel = task
    geom, forward, adjoint = op.geometry, op.apply, op.apply_adjoint
    unit = np.zeros(geom.input_shape)
    unit[pixel] = 1.0
    rhs = forward(unit)
    precondition = symbol_preconditioner(op, reg)  # kept: one per row solve of a layer
    if precondition.operator_norm == 0:  # zero filter: A = 0, so A⁺ = 0
        report = SolverReport("pcg-adjoint", 0, 1.0, True, (), "zero filter: A⁺ = 0")
        return np.zeros(geom.output_shape), report

    v = np.zeros(geom.output_shape)
    residual = rhs.copy()
    rhs_norm = float(np.linalg.norm(rhs))
    converged = rhs_norm == 0.0
    z = precondition(residual)
    direction = z.copy()
    rz = float(np.vdot(residual, z))
    history: list[float] = []
    it = 0
    while not converged and it < limit:
        if is_cancelled(cancel):
            raise SolveCancelled("effective-kernel solve cancelled")
        q = forward(adjoint(direction)) + reg * direction
        curvature = float(np.vdot(direction, q))
        if not curvature > 0:  # a direction in null(A Aᵀ): fall back to CGLS
            return _adjoint_cgls(task)
        alpha = rz / curvature
        v += alpha * direction
        residual -= alpha * q
        it += 1
        rel = float(np.linalg.norm(residual)) / rhs_norm
        history.append(rel)
        if progress is not None:
            progress(it, rel)
        converged = rel <= rtol
        z = precondition(residual)
        rz_new = float(np.vdot(residual, z))
        direction = z + (rz_new / rz) * direction
        rz = rz_new
    projected = ""
    if reg == 0 and not _full_row_rank(geom):
        solved = solve_pinv(op, v, rtol=rtol, max_iter=limit, cancel=cancel)
        v = forward(solved.image)
        converged = converged and solved.report.converged
        projected = ", projected onto range(A)"
    outside = float(np.linalg.norm(adjoint(v) - unit))
    state = "converged" if converged else "NOT converged (iteration limit)"
    message = (
        f"PCG on A Aᵀ {state} after {it} iterations{projected}, residual "
        f"{history[-1] if history else 0.0:.1e}, ‖Aᵀv − eᵢ‖ {outside:.1e}"
    )
    return v, SolverReport("pcg-adjoint", it, outside, converged, tuple(history), message)
