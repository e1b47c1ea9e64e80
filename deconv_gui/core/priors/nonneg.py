"""Non-negative least squares: argmin ‖A x − (y − b)‖² + reg ‖x‖² subject to x ≥ 0.

Notes
-----
``reg`` has the meaning it has in :func:`~deconv_gui.core.pinv_reconstruction`
(Tikhonov weight on ``‖x‖²``). The method is FISTA with gradient restart on
``½‖A x − y‖² + ½ reg ‖x‖²`` whose proximal step is the exact projection onto
``x ≥ 0`` (see :mod:`.fista`). Unlike an active-set method (``scipy.optimize.nnls``,
``lsq_linear``), it never forms ``A``: each iteration costs one forward and one
adjoint, so it runs on megapixel images.

**Stopping rule: "converged" means proven within ``tol`` (10⁻³) of the minimum**, by the
relative duality gap of :func:`~deconv_gui.core.solvers.duality.nonneg_dual_bound` (from
the residual and gradient FISTA computes anyway, averaged since its last restart),
measured every 10 iterations and at the last one; the report carries it
(``report.gap``). With ``reg = 0`` the dual needs ``Aᵀw ≥ 0``: where no cheap direction
lifts ``w`` there (filters with negative weights), the solve may not be able to prove
convergence and says NOT converged.

At the minimum ``x*`` the residual ``w* = A x* − d`` is the dual optimum and
``Aᵀw* = 0`` where ``x* > 0``, so the residual of an iterate near ``x*`` has ``Aᵀw`` near
0 of either sign there, and any repair to ``Aᵀw ≥ 0`` costs about ``⟨x, max(−Aᵀw, 0)⟩``.
With float32 data that rounding alone (~10⁻⁸ per pixel) outweighs a minimum of ~10⁻⁷
``½‖d‖²`` (a noisy photo halved by a stride-2 blur is fitted that closely), so the solve
continues in float64 once its float32 iterates have settled (``promotes``); on the
256² camera with noise 0.01 the proof then comes after ~60 iterations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..keywords import split_options
from ..operator import ConvOperator
from ..solvers import Reconstruction
from ..solvers.duality import nonneg_dual_bound
from ..solvers.fista import DEFAULT_MAX_ITER, DEFAULT_TOL, FistaSolver, initial_image
from .base import check_number, check_stopping, deliver, prepare, shared_doc

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..keywords import MonitorKeywords, SolveKeywords

__all__ = ["NonnegSolver", "nonneg_reconstruction"]


class NonnegSolver(FistaSolver):
    """Projected FISTA for ‖A x − y‖² + reg ‖x‖² with x ≥ 0 (``reg`` the Tikhonov weight of
    :func:`~deconv_gui.core.pinv_reconstruction`); the parameters are
    :class:`~deconv_gui.core.solvers.fista.FistaSolver`'s."""

    method = "fista-nonneg"
    promotes = True

    def __init__(
        self,
        op: ConvOperator,
        *,
        reg: float = 0.0,
        tol: float = DEFAULT_TOL,
        **monitor: Unpack[MonitorKeywords],
    ) -> None:
        # ‖A x − y‖² + reg ‖x‖² is twice the smooth part FISTA sees with weight reg
        super().__init__(op, reg=reg, tol=tol, **monitor)

    def objective(self, x: np.ndarray) -> float:
        """``‖A x − y‖² + reg ‖x‖²`` (in float64)."""
        r = (self.forward(x) - self.y).astype(np.float64)
        x64 = x.astype(np.float64)
        return float(np.vdot(r, r)) + self.reg * float(np.vdot(x64, x64))

    def start(self, y: np.ndarray) -> np.ndarray:
        """The cheap starting image, clipped at 0."""
        x0 = initial_image(self.op, y)
        return np.maximum(x0, 0, out=x0)

    def dual_bound(self, w: np.ndarray, g: np.ndarray, field: np.ndarray | None) -> float:
        """The dual bound of :func:`~deconv_gui.core.solvers.duality.nonneg_dual_bound`."""
        return nonneg_dual_bound(w, g, self.reg, self.responses)

    def prox(self, v: np.ndarray, out: np.ndarray) -> np.ndarray:
        """The projection onto ``x ≥ 0``."""
        return np.maximum(v, 0, out=out)


@shared_doc
def nonneg_reconstruction(
    y: Any,
    weights: Any,
    bias: Any = None,
    *,
    reg: float = 0.0,
    max_iter: int = DEFAULT_MAX_ITER,
    tol: float = DEFAULT_TOL,
    **options: Unpack[SolveKeywords],
) -> Reconstruction:
    """Non-negative (Tikhonov) least squares: argmin ‖A x − (y − b)‖² + reg ‖x‖², x ≥ 0.

    Parameters
    ----------
    %(problem)s
    reg : float
        Tikhonov weight (>= 0), the same meaning as in ``pinv_reconstruction``.
    %(fista_stop)s
    %(monitor)s
    %(report)s

    Returns
    -------
    Reconstruction
        ``image`` (of ``input_shape``, in the dtype of ``y``; every value ``>= 0``) and
        the solve's :class:`~deconv_gui.core.SolverReport`.

    %(raises)s

    Examples
    --------
    %(example_problem)s
    >>> from deconv_gui.core import nonneg_reconstruction
    >>> x_nn = nonneg_reconstruction(y, w, input_shape=x.shape, stride=2, padding=1)
    >>> bool(x_nn.image.min() >= 0)
    True
    """
    reg = check_number(reg, "reg")
    max_iter, tol = check_stopping(max_iter, tol)
    problem, monitor, return_report = split_options(options, "nonneg_reconstruction")
    op, centred = prepare(y, weights, bias, **problem)
    solver = NonnegSolver(op, reg=reg, tol=tol, **monitor)
    return deliver(solver.solve(centred, max_iter), return_report, centred.dtype)
