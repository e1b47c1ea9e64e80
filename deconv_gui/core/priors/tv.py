"""Total-variation reconstruction: argmin ½‖A x − (y − b)‖² + λ TV(x), optionally with x ≥ 0.

Notes
-----
**The TV.** Isotropic in space, summed over channels, with forward differences and a
zero difference past the last row and column:

.. math:: TV(x) = \\sum_c \\sum_{ij} \\sqrt{(x_{i+1,j,c} - x_{ij c})^2 + (x_{i,j+1,c} - x_{ijc})^2}.

**The method: FISTA with a warm-started inner TV prox** (Beck & Teboulle, "Fast
gradient-based algorithms for constrained total variation image denoising and deblurring
problems", IEEE TIP 2009), with O'Donoghue & Candès' gradient restart. Each outer
iteration takes one gradient step on the data term (one forward, one adjoint, step
``1/L`` with ``L`` checked by backtracking against a guaranteed bound of ``‖A‖²`` for
every padding mode; see :mod:`~deconv_gui.core.solvers.fista`) and then the proximal map
of ``(λ/L) TV + ι_{x ≥ 0}`` by Beck and Teboulle's fast dual projected gradient (FGP) on
the TV's dual field, warm-started from the previous outer iteration's field. The inner
loop runs until one of its steps moves ``x`` by less than 5 % of the last outer step:
the prox errors then shrink with the outer steps, which is what keeps an inexact FISTA
converging to the minimiser (a fixed 1–3 inner steps stalled 0.1–1 % above it in our
measurements). On astronaut RGB, stride 2, λ = 10⁻³, at the default ``tol``: 3 % took
225 inner steps and stopped 1.3·10⁻⁴ above the minimum, 5 % 184 steps and 1.7·10⁻⁴, 10 %
172 steps but 4·10⁻⁴ (more outer steps), 30 % no longer converged.

Why not Chambolle–Pock (PDHG) on ``K = [A; ∇]``: measured here on a 256² camera,
Gaussian 3×3, stride 2, σ = 0.01, λ = 10⁻³, diagonally preconditioned PDHG was still
0.2 % above the minimum after 2000 iterations, while FISTA was within 10⁻⁴ after 100.
The weak prior (small λ) leaves the problem almost a least-squares problem with a large
null space, where only the O(1/k²) rate of an accelerated gradient on the data term
converges quickly; PDHG's O(1/k) rate pays for the same ill-conditioning. The inner
steps need no operator applications. PyProximal's TV prox and scikit-image's
``denoise_tv_chambolle`` solve the same inner problem, but neither can be warm-started
from the previous dual field nor takes ``x ≥ 0``, so each outer step would pay for a
cold solve.

**Stopping rule: "converged" means proven within ``tol`` (10⁻³) of the minimum.** Every
10 iterations (once the iterates move by at most 1 %) and at the last one, the solver
builds a feasible point of the dual problem from the residual ``A z − y`` at FISTA's
extrapolated point, its adjoint (the gradient it just computed) and the TV prox's dual
field, averaged over the iterations since the last restart (the weighted average whose
constraint error telescopes; :mod:`.tv_gap` makes it exactly feasible). Its value ``D``
is a lower bound of the minimum, so the relative duality gap ``(P(x̂) − D) / D`` bounds
how far the returned ``x̂`` is above the minimum, relatively; converged iff it is at most
``tol``, and the report carries it (``report.gap``). A small λ makes the certificate
hard (the optimal residual is small, and the dual field must match it to ``λ``): such
solves may be within 10⁻³ long before they can prove it, and then say NOT converged.
The tests compare with a general convex solver (cvxpy) over every padding mode, stride
and groups.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..keywords import split_options
from ..operator import ConvOperator
from ..solvers import Reconstruction
from ..solvers.fista import DEFAULT_MAX_ITER, DEFAULT_TOL, FistaSolver, initial_image
from .base import check_number, check_stopping, deliver, prepare, shared_doc
from .tv_gap import gradient, gradient_adjoint, tv_dual_bound
from .tv_prox import TVProx

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..keywords import MonitorKeywords, SolveKeywords

__all__ = ["TVSolver", "gradient", "gradient_adjoint", "total_variation", "tv_reconstruction"]

#: Inner steps per outer step (warm-started; see the module Notes): until one moves x by
#: less than INNER_FRACTION of the last outer step.
INNER_FRACTION = 0.05


def total_variation(x: Any) -> float:
    """The isotropic TV of an ``(H, W, C)`` image, summed over channels (see the module Notes)."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 3:
        raise ValueError(f"x must be an (H, W, C) image, got shape {arr.shape}")
    g = gradient(arr)
    return float(np.hypot(g[0], g[1]).sum())


class TVSolver(FistaSolver):
    """FISTA with a warm-started TV prox for ½‖A x − y‖² + λ TV(x) (+ x ≥ 0).

    Parameters
    ----------
    lam : float
        The TV weight λ (> 0).
    nonneg : bool
        Constrain ``x ≥ 0``.
    op, tol, callbacks, progress, cancel
        As for :class:`~deconv_gui.core.solvers.first_order.FirstOrderSolver`.

    Attributes
    ----------
    inner_total : int
        Inner (TV dual) iterations run so far.
    """

    method = "fista+tv-dual"

    def __init__(
        self,
        op: ConvOperator,
        *,
        lam: float,
        nonneg: bool = False,
        tol: float = DEFAULT_TOL,
        **monitor: Unpack[MonitorKeywords],
    ) -> None:
        super().__init__(op, tol=tol, **monitor)
        self.lam = float(lam)
        self.nonneg = bool(nonneg)
        self.inner_total = 0

    def objective(self, x: np.ndarray) -> float:
        """``½‖A x − y‖² + λ TV(x)`` (in float64)."""
        r = (self.forward(x) - self.y).astype(np.float64)
        return 0.5 * float(np.vdot(r, r)) + self.lam * total_variation(x)

    def penalty(self, x: np.ndarray) -> float:
        """``λ TV(x)``, through a gradient buffer kept between calls."""
        buffer = getattr(self, "_grad", None)
        if buffer is None or buffer.shape[1:] != x.shape:
            buffer = self._grad = np.zeros((2, *x.shape), dtype=x.dtype)
        g = gradient(x, out=buffer)
        return self.lam * float(np.hypot(g[0], g[1]).sum(dtype=np.float64))

    def start(self, y: np.ndarray) -> np.ndarray:
        """The cheap starting image, clipped at 0 when ``nonneg``."""
        x0 = initial_image(self.op, y)
        return np.maximum(x0, 0, out=x0) if self.nonneg else x0

    def setup(self, y: np.ndarray) -> None:
        """Start from :meth:`start` with a zero dual field."""
        super().setup(y)
        self.inner_total = 0
        self.tv_prox = TVProx(self.shape, self.op.dtype, self.lam * self.step_size, self.nonneg)

    def set_curvature(self, curvature: float) -> None:
        """A new step size (backtracking): the TV prox's weight ``λ / L`` follows it."""
        super().set_curvature(curvature)
        prox = getattr(self, "tv_prox", None)
        if prox is not None:
            prox.set_mu(self.lam * self.step_size)

    def polish(self) -> None:
        """Shift the current iterate by the best constant per channel (the TV does not
        change; under ``x ≥ 0`` only if the shifted image stays ``≥ 0``); keep it as the
        best iterate if its objective is lower.

        With few equations and a strong prior, FISTA finds the image's shape quickly but
        its level per channel slowly (little curvature along constants): the level is
        then one small least-squares solve on the constant responses the dual needs.
        """
        shift = self.responses.best_shift(self.ax)
        if shift is None:
            return
        alpha, response = shift
        shifted = (self.x + alpha).astype(self.x.dtype)
        if self.nonneg and shifted.min() < 0:
            return
        value = self.fista_objective(shifted, (self.ax + response).astype(self.ax.dtype))
        if np.isfinite(value) and value < self.objectives[-1]:
            np.copyto(self.best, shifted)
            self.objectives[-1] = value

    def dual_field(self) -> np.ndarray:
        """The TV prox's field scaled to the unit ball (its ``q / R``)."""
        prox = self.tv_prox
        return prox.q / prox.radius if prox.radius > 0 else np.zeros_like(prox.q)

    def dual_bound(self, w: np.ndarray, g: np.ndarray, field: np.ndarray | None) -> float:
        """The TV dual bound of :func:`~.tv_gap.tv_dual_bound`."""
        assert field is not None
        return tv_dual_bound(w, g, field, self.lam, self.nonneg, self.responses)

    def prox(self, v: np.ndarray, out: np.ndarray) -> np.ndarray:
        """The TV prox, to an accuracy that follows the outer steps (see the module Notes)."""
        self.tv_prox(v, out, INNER_FRACTION * self.last_step)
        self.inner_total += self.tv_prox.inner
        return out


@shared_doc
def tv_reconstruction(
    y: Any,
    weights: Any,
    bias: Any = None,
    *,
    lam: float,
    nonneg: bool = False,
    max_iter: int = DEFAULT_MAX_ITER,
    tol: float = DEFAULT_TOL,
    **options: Unpack[SolveKeywords],
) -> Reconstruction:
    """Total-variation reconstruction: argmin ½‖A x − (y − b)‖² + λ TV(x) (x ≥ 0 if ``nonneg``).

    Parameters
    ----------
    %(problem)s
    lam : float
        The TV weight λ (> 0). TV is isotropic in space and summed over channels.
    nonneg : bool
        Constrain the image to ``x ≥ 0``.
    %(fista_stop)s
    %(monitor)s
    %(report)s

    Returns
    -------
    Reconstruction
        ``image`` (of ``input_shape``, in the dtype of ``y``) and the solve's
        :class:`~deconv_gui.core.SolverReport`.

    %(raises)s

    Examples
    --------
    %(example_problem)s
    >>> from deconv_gui.core import tv_reconstruction
    >>> x_tv = tv_reconstruction(y, w, input_shape=x.shape, stride=2, padding=1, lam=1e-3)
    >>> x_tv.image.shape, x_tv.report.method
    ((16, 16, 1), 'fista+tv-dual')
    """
    lam = check_number(lam, "lam", strict=True)
    max_iter, tol = check_stopping(max_iter, tol)
    if not isinstance(nonneg, (bool, np.bool_)):
        raise ValueError(f"nonneg must be True or False, got {nonneg!r}")
    problem, monitor, return_report = split_options(options, "tv_reconstruction")
    op, centred = prepare(y, weights, bias, **problem)
    solver = TVSolver(op, lam=lam, nonneg=bool(nonneg), tol=tol, **monitor)
    return deliver(solver.solve(centred, max_iter), return_report, centred.dtype)
