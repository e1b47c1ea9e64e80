"""Accelerated proximal gradient (FISTA) with gradient restart, shared by TV and non-negative LS.

The smooth part is ``½‖A x − y‖² + ½ reg ‖x‖²`` (gradient ``Aᵀ(A x − y) + reg x``,
Lipschitz constant ``‖A‖² + reg`` with ``‖A‖²`` bounded from the operator's symbol);
subclasses provide the proximal map of the rest. O'Donoghue & Candès' gradient restart
(drop the momentum when ``(z_k − x_{k+1})·(x_{k+1} − x_k) > 0``) keeps FISTA's
O(1/k²) rate and recovers linear convergence where the problem is strongly convex.
"""

from __future__ import annotations

import numpy as np

from ..operator import ConvOperator
from .base import Callbacks, CancelCheck, ProgressCallback, dot
from .first_order import FirstOrderSolver, operator_norm_bound

__all__ = ["FistaSolver", "initial_image"]


def initial_image(op: ConvOperator, y: np.ndarray) -> np.ndarray:
    """A cheap starting image of the right scale: one adjoint and one forward.

    For a filter without negative weights, the coverage-normalised transpose
    ``Aᵀy ⊘ Aᵀ1`` (0 where nothing covers a pixel): a blurred copy of the image, free of
    the stride's checkerboard. Otherwise the steepest-descent step from zero with exact
    line search, ``α Aᵀy`` with ``α = ‖Aᵀy‖² / ‖A Aᵀy‖²``.
    """
    shape = op.geometry.input_shape
    back = op.rmatvec(y.ravel()).reshape(shape)
    if np.all(op.weights >= 0):
        cover = op.rmatvec(np.ones(op.shape[0], dtype=op.dtype)).reshape(shape)
        top = float(cover.max()) if cover.size else 0.0
        out = np.zeros_like(back)
        np.divide(back, cover, out=out, where=cover > 1e-6 * top)
        return out
    image = op.matvec(back.ravel())
    denominator = float(dot(image, image))
    alpha = float(dot(back, back)) / denominator if denominator > 0 else 0.0
    return back * op.dtype.type(alpha)


class FistaSolver(FirstOrderSolver):
    """FISTA on ``½‖A x − y‖² + ½ reg ‖x‖² + g(x)``; subclasses define ``prox`` for ``g``.

    Parameters
    ----------
    op : ConvOperator
        The forward operator ``A``.
    reg : float
        Weight of ``½ reg ‖x‖²`` in the smooth part (>= 0).
    tol, callbacks, progress, cancel
        See :class:`~deconv_gui.core.solvers.first_order.FirstOrderSolver`.
    """

    def __init__(
        self,
        op: ConvOperator,
        *,
        reg: float = 0.0,
        tol: float,
        callbacks: Callbacks | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelCheck | None = None,
    ) -> None:
        super().__init__(op, tol=tol, callbacks=callbacks, progress=progress, cancel=cancel)
        self.reg = float(reg)
        self.lipschitz = operator_norm_bound(op) + self.reg
        self.step_size = 1.0 / self.lipschitz if self.lipschitz > 0 else 1.0

    def prox(self, v: np.ndarray, out: np.ndarray) -> np.ndarray:  # pragma: no cover
        """The proximal map of ``step_size · g`` at ``v``, written into ``out``."""
        raise NotImplementedError

    def start(self, y: np.ndarray) -> np.ndarray:
        """The starting image (projected by ``prox`` of a zero step in subclasses if needed)."""
        return initial_image(self.op, y)

    def setup(self, y: np.ndarray) -> None:
        """Start from :meth:`start` with zero momentum."""
        self.reset(y)
        self.x = np.ascontiguousarray(self.start(self.y), dtype=self.op.dtype)
        self.z = self.x.copy()
        self.v = np.empty_like(self.x)
        self.x_new = np.empty_like(self.x)
        self.diff = np.empty_like(self.x)
        self.t = 1.0
        self.last_step = np.inf

    def step(self) -> None:
        """One iteration: a gradient step (one forward, one adjoint), then the prox."""
        grad = self.adjoint(self.forward(self.z) - self.y)
        if self.reg:
            grad += self.op.dtype.type(self.reg) * self.z
        np.multiply(grad, -self.step_size, out=self.v)
        self.v += self.z
        x_new = self.prox(self.v, self.x_new)
        np.subtract(x_new, self.x, out=self.diff)
        np.subtract(self.z, x_new, out=self.z)
        if float(dot(self.z, self.diff)) > 0:  # momentum points uphill: restart
            self.t = 1.0
        t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * self.t * self.t))
        np.multiply(self.diff, (self.t - 1.0) / t_new, out=self.z)
        self.z += x_new
        self.t = t_new
        self.x, self.x_new = x_new, self.x
        self.last_step = float(np.sqrt(dot(self.diff, self.diff)))
        self.record_change(self.x, self.diff)
