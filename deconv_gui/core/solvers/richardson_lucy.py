"""Richardson–Lucy: the multiplicative EM iteration for non-negative filters and data.

Notes
-----
For ``A`` with non-negative weights and data ``y − b ≥ 0``, each iteration

.. math:: x \\leftarrow x \\odot A^T\\big((y - b) \\oslash A x\\big) \\oslash A^T 1

is one expectation-maximisation step for Poisson data: it never increases the
Kullback–Leibler divergence ``KL(y − b ‖ A x) = Σ (y − b) log((y − b) / A x) − (y − b) + A x``
and keeps ``x ≥ 0``. Stride and channels need nothing special: ``A`` and ``Aᵀ`` are the
strided convolution and its adjoint, ``Aᵀ1`` the coverage. Pixels that no output sees
(``Aᵀ1 = 0``) stay 0. The start is the constant image whose forward output has the
data's total flux, ``Σ(y − b) / ΣAᵀ1``. The iteration count is the regulariser
(early stopping), as in DeconvolutionLab2's reference implementation, so the solver
runs exactly ``n_iter`` iterations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..operator import ConvOperator
from .base import Reconstruction
from .first_order import FirstOrderSolver

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .base import MonitorKeywords

__all__ = ["RichardsonLucySolver", "kl_divergence"]


def kl_divergence(y: Any, prediction: Any) -> float:
    """``KL(y ‖ p) = Σ y log(y / p) − y + p`` for ``y, p ≥ 0`` (``0 log 0 = 0``).

    Infinite when some ``p = 0 < y``.
    """
    y64 = np.asarray(y, dtype=np.float64).ravel()
    p64 = np.asarray(prediction, dtype=np.float64).ravel()
    positive = y64 > 0
    if np.any(p64[positive] <= 0):
        return float("inf")
    log_term = y64[positive] * np.log(y64[positive] / p64[positive])
    return float(log_term.sum() - y64.sum() + p64.sum())


class RichardsonLucySolver(FirstOrderSolver):
    """The Richardson–Lucy iteration for one operator with non-negative weights.

    Parameters
    ----------
    op : ConvOperator
        The forward operator ``A`` (weights ``>= 0``).
    callbacks, progress, cancel
        See :class:`~deconv_gui.core.solvers.first_order.FirstOrderSolver`; ``progress``
        receives the relative change of ``x``.
    """

    method = "richardson-lucy"

    def __init__(
        self,
        op: ConvOperator,
        **monitor: Unpack[MonitorKeywords],
    ) -> None:
        super().__init__(op, tol=0.0, **monitor)
        self.cover = self.adjoint(np.ones(op.geometry.output_shape, dtype=op.dtype))
        top = float(self.cover.max()) if self.cover.size else 0.0
        self.seen = self.cover > 1e-12 * top if top > 0 else np.zeros(self.shape, dtype=bool)

    def objective(self, x: np.ndarray) -> float:
        """``KL(y ‖ A x)``."""
        return kl_divergence(self.y, self.forward(x))

    def setup(self, y: np.ndarray) -> None:
        """Start from the flux-preserving constant image on the covered pixels."""
        self.reset(y)
        total_cover = float(self.cover[self.seen].sum())
        level = float(self.y.sum()) / total_cover if total_cover > 0 else 0.0
        self.x = np.where(self.seen, level, 0.0).astype(self.op.dtype)
        self.ratio = np.zeros(self.op.geometry.output_shape, dtype=self.op.dtype)
        self.factor = np.zeros(self.shape, dtype=self.op.dtype)

    def step(self) -> None:
        """One EM step: one forward and one adjoint."""
        prediction = self.forward(self.x)
        self.ratio.fill(0)
        np.divide(self.y, prediction, out=self.ratio, where=prediction > 0)
        back = self.adjoint(self.ratio)
        self.factor.fill(0)
        np.divide(back, self.cover, out=self.factor, where=self.seen)
        new = self.x * self.factor
        self.record_change(new, new - self.x)
        self.converged = False  # the iteration count is the rule, not the change
        self.x = new

    def finalize(self) -> Reconstruction:
        """The image and its report (``objective`` is the KL divergence)."""
        self.converged = True  # the iteration count is the rule: it was met
        return super().finalize()

    def describe(self, objective: float, relative_residual: float) -> str:
        """The report's message: the iterations run and the KL divergence."""
        return (
            f"Richardson–Lucy: {self.iiter} iterations, KL divergence "
            f"{objective:.6g}, relative residual {relative_residual:.1e}"
        )
