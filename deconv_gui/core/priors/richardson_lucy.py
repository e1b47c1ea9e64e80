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

from typing import Any

import numpy as np

from ..operator import ConvOperator
from ..solvers import CancelCheck, ProgressCallback
from .base import PriorResult, PriorSolver, check_count, deliver, prepare, shared_doc

__all__ = ["RichardsonLucySolver", "kl_divergence", "richardson_lucy"]

DEFAULT_N_ITER = 50


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


class RichardsonLucySolver(PriorSolver):
    """The Richardson–Lucy iteration for one operator with non-negative weights.

    Parameters
    ----------
    op : ConvOperator
        The forward operator ``A`` (weights ``>= 0``).
    progress, cancel
        See :class:`~deconv_gui.core.priors.base.PriorSolver`; ``progress`` receives the
        relative change of ``x``.
    """

    method = "richardson-lucy"

    def __init__(
        self,
        op: ConvOperator,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelCheck | None = None,
    ) -> None:
        super().__init__(op, tol=0.0, progress=progress, cancel=cancel)
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

    def finalize(self) -> PriorResult:
        """The image and its report (``objective`` is the KL divergence)."""
        self.converged = True  # the iteration count is the rule: it was met
        return super().finalize()

    def describe(self, objective: float, relative_residual: float) -> str:
        """The report's message: the iterations run and the KL divergence."""
        return (
            f"Richardson–Lucy: {self.iiter} iterations, KL divergence "
            f"{objective:.6g}, relative residual {relative_residual:.1e}"
        )


@shared_doc
def richardson_lucy(
    y: Any,
    weights: Any,
    bias: Any = None,
    *,
    input_shape: tuple[int, int, int] | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    n_iter: int = DEFAULT_N_ITER,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    return_report: bool = False,
) -> np.ndarray | PriorResult:
    """Richardson–Lucy deconvolution: ``n_iter`` steps of ``x ← x ⊙ Aᵀ(y ⊘ A x) ⊘ Aᵀ1``.

    Parameters
    ----------
    y, weights, bias, input_shape, stride, padding, dilation
        As for :func:`~deconv_gui.core.pinv_reconstruction` (``weights`` may be a
        ready :class:`~deconv_gui.core.ConvOperator`); the weights and the data
        ``y − b`` must be non-negative.
    n_iter : int
        Number of iterations (>= 1); fewer iterations regularise more.
    %(monitor)s
    return_report : bool
        Return a :class:`~deconv_gui.core.priors.PriorResult` ``(image, report)``; its
        ``objective`` is ``KL(y − b ‖ A x)``.

    Returns
    -------
    numpy.ndarray or PriorResult
        The non-negative image of ``input_shape`` in the dtype of ``y``.

    Raises
    ------
    ValueError
        On bad arguments, negative weights or negative data ``y − b`` (the message
        names the argument).
    SolveCancelled
        When ``cancel`` fired.

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import conv2d, make_filter, richardson_lucy
    >>> x = np.zeros((16, 16, 1)); x[4:12, 4:12] = 1.0
    >>> w = make_filter("gaussian", size=3, in_channels=1)
    >>> y = conv2d(x, w, stride=2, padding=1)
    >>> richardson_lucy(y, w, input_shape=x.shape, stride=2, padding=1, n_iter=20).shape
    (16, 16, 1)
    """
    n_iter = check_count(n_iter, "n_iter")
    op, centred = prepare(y, weights, bias, input_shape, stride, padding, dilation)
    if np.any(op.weights < 0):
        raise ValueError(
            "weights must be non-negative for Richardson–Lucy (a blur or averaging filter), "
            f"got a minimum of {float(op.weights.min()):g}"
        )
    if centred.size and float(centred.min()) < 0:
        what = "y − bias" if bias is not None else "y"
        raise ValueError(
            f"y must be non-negative data for Richardson–Lucy ({what} has a minimum of "
            f"{float(centred.min()):g}); clip it or use a least-squares method"
        )
    solver = RichardsonLucySolver(op, progress=progress, cancel=cancel)
    return deliver(solver.solve(centred, n_iter), return_report, centred.dtype)
