"""Accelerated proximal gradient (FISTA) with backtracking and gradient restart.

Shared by TV and non-negative LS. The smooth part is ``½‖A x − y‖² + ½ reg ‖x‖²``
(gradient ``Aᵀ(A x − y) + reg x``); subclasses provide the proximal map of the rest.

**Step size.** FISTA needs ``1/L`` with ``L ≥ ‖A‖² + reg``. The operator's periodic
symbol bounds ``‖A‖²`` only for zero padding: with copied borders (reflect, replicate,
circular) a border pixel is read several times and ``‖A‖²`` can be several times the
symbol's maximum, and a too long step makes FISTA diverge. So the step is checked at
every iteration (Beck and Teboulle's backtracking): for the quadratic data term the
sufficient-decrease condition is exactly ``‖A d‖² ≤ (L − reg) ‖d‖²`` on the step
``d = x_{k+1} − z_k``, and ``A d`` is at hand (``A x_{k+1}`` is computed for the next
gradient; ``A z`` is the same combination of ``A x_k`` and ``A x_{k+1}`` as ``z`` of
``x_k`` and ``x_{k+1}``), so the check costs no operator application. A step that fails
it is redone with a larger ``L`` (at least 1.5×, and 1.1× the curvature measured),
never above :func:`~deconv_gui.core.solvers.first_order.operator_norm_bound`'s guaranteed bound
(a curvature measured above it is rounding: a tiny float32 step whose ``A d`` is the
rounding of ``A z``; followed, it once raised ``L`` to ~10²² and froze the iterates).
O'Donoghue & Candès' gradient restart (drop the momentum when
``(z_k − x_{k+1})·(x_{k+1} − x_k) > 0``) keeps FISTA's O(1/k²) rate and recovers linear
convergence where the problem is strongly convex.

**Convergence is certified by a duality gap** (:mod:`.duality`): each iteration's
residual ``A z − y`` and its adjoint (and the prox's dual field) form a dual point;
their average weighted by FISTA's ``t_k`` since the last restart is a better one (its
constraint error is a telescoping sum, ``L (u_0 − u_k) / Σ t_j``, with ``u_k`` the
sequence ``x_{k−1} + t_{k−1}(x_k − x_{k−1})``). "Converged" iff the relative gap of the
best iterate is at most ``tol``.

**Precision.** Float32 data is solved in float32 (half the memory traffic). Where the
certificate needs more than float32 can give (non-negative least squares whose minimum is
~10⁻⁷ of ``½‖y‖²``: the dual point's ``Aᵀw`` carries rounding of either sign where it
should be 0), a solver that :attr:`~FistaSolver.promotes` continues in float64 once the
float32 iterates have settled, and hands out the image in float32 with the gap of that
rounded image.

**Divergence.** Should an iterate still overflow (it cannot with a valid bound), the
solve stops at once, keeps the last finite iterate and says so in its report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..operator import ConvOperator
from .base import Reconstruction, dot
from .duality import CHECK_CHANGE, CHECK_EVERY, ConstantResponses, relative_gap
from .first_order import FirstOrderSolver, operator_norm_bound, starting_curvature

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .base import MonitorKeywords

__all__ = ["DEFAULT_MAX_ITER", "DEFAULT_TOL", "FistaSolver", "initial_image"]

#: The prior solves' defaults (TV, non-negative LS): at most 500 iterations, stopped at a
#: relative duality gap of 10⁻³.
DEFAULT_MAX_ITER = 500
DEFAULT_TOL = 1e-3

#: Backtracking: the factor by which L grows at least when a step fails.
GROWTH = 1.5
#: A float32 solve of a :attr:`FistaSolver.promotes` solver continues in float64 once its
#: iterates move by at most this (relative) without a proof yet (:meth:`FistaSolver.promote`).
PROMOTE_CHANGE = 1e-5


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
    op, tol, callbacks, progress, cancel
        As for :class:`~deconv_gui.core.solvers.first_order.FirstOrderSolver`.
    reg : float
        Weight of ``½ reg ‖x‖²`` in the smooth part (>= 0).

    Attributes
    ----------
    lipschitz : float
        The current ``L`` (``1 / step_size``); it only grows, by backtracking.
    backtracks : int
        Steps redone with a larger ``L`` so far.
    promotes : bool
        Whether a float32 solve whose certificate stalls continues in float64
        (:meth:`promote`); the image is still handed out in float32.
    """

    promotes = False
    z: np.ndarray  # FISTA's extrapolated point (set up by setup)

    def __init__(
        self,
        op: ConvOperator,
        *,
        reg: float = 0.0,
        tol: float,
        **monitor: Unpack[MonitorKeywords],
    ) -> None:
        super().__init__(op, tol=tol, **monitor)
        self.reg = float(reg)
        self.norm_bound = operator_norm_bound(op)
        self.backtracks = 0
        self.best: np.ndarray = np.zeros_like(self.x)
        # the operator of the problem (promote swaps in a float64 copy) and the image's dtype
        self.base_op = op
        self.delivered = op.dtype
        # the dual side: the best lower bound so far and the epoch's weighted dual points
        self.lower = 0.0
        self.gap = float("nan")
        self.average: list[np.ndarray] | None = None
        self.average_weight = 0.0
        # float32 sums of squares are good to ~1e-4 relative: a step is refused only beyond
        self.slack = 1e-3 if op.dtype == np.float32 else 1e-9
        self.set_curvature(starting_curvature(op, self.norm_bound))

    def set_curvature(self, curvature: float) -> None:
        """Take ``L = curvature + reg`` (``curvature`` estimates ``‖A‖²``)."""
        self.curvature = float(curvature)
        self.lipschitz = self.curvature + self.reg
        self.step_size = 1.0 / self.lipschitz if self.lipschitz > 0 else 1.0

    def prox(self, v: np.ndarray, out: np.ndarray) -> np.ndarray:  # pragma: no cover
        """The proximal map of ``step_size · g`` at ``v``, written into ``out``."""
        raise NotImplementedError

    def penalty(self, x: np.ndarray) -> float:
        """``g(x)`` (0 for an indicator such as ``x ≥ 0`` on a feasible ``x``)."""
        return 0.0

    def fista_objective(self, x: np.ndarray, ax: np.ndarray) -> float:
        """``½‖A x − y‖² + ½ reg ‖x‖² + g(x)`` from ``A x`` at hand (in float64)."""
        r = (ax - self.y).astype(np.float64, copy=False)
        value = 0.5 * float(dot(r, r)) + self.penalty(x)
        if self.reg:
            x64 = x.astype(np.float64, copy=False)
            value += 0.5 * self.reg * float(dot(x64, x64))
        return value

    def converged_rule(self) -> str:
        """What "converged" meant, for the report."""
        return f"relative duality gap <= tol={self.tol:.0e}"

    def dual_bound(self, w: np.ndarray, g: np.ndarray, field: np.ndarray | None) -> float:
        """A lower bound of the minimum from ``w = A z − y``, ``g = Aᵀ w`` and the prox's
        dual ``field`` (subclasses; ``pragma: no cover``)."""
        raise NotImplementedError  # pragma: no cover

    def dual_field(self) -> np.ndarray | None:
        """The prox's dual variable after the last step (None: the prox has none)."""
        return None

    def accumulate(self, weight: float, w: np.ndarray, g: np.ndarray, field) -> None:
        """Add ``weight ×`` this iteration's dual point to the running (weighted) average."""
        parts = (w, g) if field is None else (w, g, field)
        if self.average is None:
            self.average = [np.zeros(part.shape) for part in parts]
            self.average_weight = 0.0
        for total, part in zip(self.average, parts, strict=True):
            total += weight * part
        self.average_weight += weight

    def polish(self) -> None:
        """Improve the best iterate where that is free (TV: the best constant per channel,
        which the TV cannot see and FISTA finds slowly); nothing by default."""

    def check_gap(self, w: np.ndarray, g: np.ndarray) -> None:
        """Tighten the dual bound with this iteration's dual point and the average of the
        epoch's; converged iff the relative gap of the best iterate is at most ``tol``
        (see :mod:`~deconv_gui.core.solvers.duality`)."""
        self.polish()
        points = [(w, g, self.dual_field())]
        if self.average is not None and self.average_weight > 0:
            mean = [total / self.average_weight for total in self.average]
            points.append((mean[0], mean[1], mean[2] if len(mean) > 2 else None))
        for point in points:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                lower = self.dual_bound(*point)
            if np.isfinite(lower):
                self.lower = max(self.lower, lower)
        self.gap = relative_gap(self.objectives[-1], self.lower, self.data_scale)
        self.converged = self.gap <= self.tol
        stalled = self.history[-1] <= PROMOTE_CHANGE and self.op.dtype != np.float64
        # not at the last iteration: there would be no float64 step to prove anything with
        last = self.iiter >= getattr(self, "max_iter", np.inf)
        if self.promotes and stalled and not (self.converged or last):
            self.promote()

    def promote(self) -> None:
        """Continue in float64 from the float32 iterates (their momentum kept).

        Float32 iterates reach the minimum's objective, but the dual point built from
        their residual carries float32 rounding: ``Aᵀw`` is ~10⁻⁸ of noise of either sign
        where the minimum has 0, and making it ``≥ 0`` costs about ``⟨x, max(−Aᵀw, 0)⟩``,
        as much as a small minimum itself (without Tikhonov, on a noisy photo the gap
        stalled at ~10⁻²). A few float64 iterations from there clean that noise.
        """
        self.delivered = self.op.dtype
        self.op = self.op.replace(dtype=np.float64)
        self.y = self.y.astype(np.float64)
        self.x, self.z, self.best = (a.astype(np.float64) for a in (self.x, self.z, self.best))
        self.ax, self.az = self.forward(self.x), self.forward(self.z)
        self.v, self.x_new, self.diff = (np.empty_like(self.x) for _ in range(3))
        # the best objective in float64 (a float32 sum can sit below every float64 value)
        self.objectives[-1] = self.fista_objective(self.best, self.forward(self.best))
        self.responses = ConstantResponses(self.op, self.y)
        self.slack, self.average = 1e-9, None

    def due(self) -> bool:
        """Whether this iteration measures the gap: once the iterates move by at most
        CHECK_CHANGE, every CHECK_EVERY iterations and at the last one (before, the gap is
        far from any tolerance and not worth its cost)."""
        k = self.iiter + 1
        if not self.history or self.history[-1] > CHECK_CHANGE:
            return False
        return k % CHECK_EVERY == 0 or k >= getattr(self, "max_iter", np.inf)

    def finalize(self) -> Reconstruction:
        """The best iterate seen (FISTA's objective is not monotone) and its report; after
        :meth:`promote`, rounded to the dtype handed out and its gap measured again, so
        that the proof is about the image returned."""
        if self.objectives:  # finite: an overflowing iterate is never the best
            self.x, self.best = self.best, self.x
        if self.delivered != self.op.dtype:
            self.x = self.x.astype(self.delivered).astype(self.op.dtype)
            if np.isfinite(self.gap):
                value = self.fista_objective(self.x, self.forward(self.x))
                self.gap = relative_gap(value, self.lower, self.data_scale)
                self.converged = self.gap <= self.tol
        result = super().finalize()
        return result._replace(image=result.image.astype(self.delivered, copy=False))

    def start(self, y: np.ndarray) -> np.ndarray:
        """The starting image (projected by ``prox`` of a zero step in subclasses if needed)."""
        return initial_image(self.op, y)

    def setup(self, y: np.ndarray) -> None:
        """Start from :meth:`start` with zero momentum."""
        self.op = self.base_op
        self.reset(y)
        self.x = np.ascontiguousarray(self.start(self.y), dtype=self.op.dtype)
        self.ax = self.forward(self.x)
        self.z = self.x.copy()
        self.az = self.ax.copy()
        self.v = np.empty_like(self.x)
        self.x_new = np.empty_like(self.x)
        self.diff = np.empty_like(self.x)
        self.t = 1.0
        self.last_step = np.inf
        self.diverged = False
        self.data_scale = 0.5 * float(dot(self.y.astype(np.float64), self.y.astype(np.float64)))
        self.objectives: list[float] = []
        self.best = self.x.copy()
        self.responses = ConstantResponses(self.op, self.y)
        self.lower = 0.0  # every objective here is >= 0 (the dual point w = 0)
        self.gap = np.nan  # not measured yet
        self.average = None
        self.average_weight = 0.0
        self.delivered = self.op.dtype

    def _try_step(self, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
        """A prox-gradient step from ``z`` with the current ``L``; whether ``L`` held."""
        np.multiply(grad, -self.step_size, out=self.v)
        self.v += self.z
        x_new = self.prox(self.v, self.x_new)
        ax_new = self.forward(x_new)
        np.subtract(x_new, self.z, out=self.diff)
        moved = float(dot(self.diff, self.diff))
        if not np.isfinite(moved) or moved == 0:
            return x_new, ax_new, True
        change = ax_new - self.az
        measured = float(dot(change, change)) / moved  # a lower bound of ‖A‖², but for rounding
        if not measured > self.curvature * (1.0 + self.slack) or self.curvature >= self.norm_bound:
            return x_new, ax_new, True
        # the guaranteed bound caps the growth: a curvature measured above it is rounding (a
        # tiny float32 step whose A d is the rounding of A z), and following it froze FISTA
        grown = min(max(GROWTH * self.curvature, 1.1 * measured), self.norm_bound)
        self.backtracks += 1
        self.set_curvature(grown)
        return x_new, ax_new, False

    def step(self) -> None:
        """One iteration: a gradient step (one forward, one adjoint), then the prox."""
        residual = self.az - self.y
        grad = self.adjoint(residual)
        # the dual point of this iteration: the residual at z and its adjoint
        dual = (residual, grad.copy() if self.reg else grad) if self.due() else None
        weight, data_grad = self.t, (grad.copy() if self.reg else grad)
        if self.reg:
            grad += self.op.dtype.type(self.reg) * self.z
        accepted = False
        while not accepted:
            x_new, ax_new, accepted = self._try_step(grad)
        self.accumulate(weight, residual, data_grad, self.dual_field())
        np.subtract(x_new, self.x, out=self.diff)
        with np.errstate(over="ignore", invalid="ignore"):
            finite = bool(
                np.isfinite(dot(self.diff, self.diff)) and np.isfinite(dot(ax_new, ax_new))
            )
        if not finite:  # keep the last finite iterate and stop
            self.diverged = True
            self.stopped = True
            self.iiter += 1
            self.history.append(float("inf"))
            return
        np.subtract(self.z, x_new, out=self.z)
        if float(dot(self.z, self.diff)) > 0:  # momentum points uphill: restart
            self.t = 1.0
            self.average = None  # a new epoch: the telescoping sum starts again
        t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * self.t * self.t))
        beta = (self.t - 1.0) / t_new
        np.multiply(self.diff, beta, out=self.z)
        self.z += x_new
        np.subtract(ax_new, self.ax, out=self.az)
        self.az *= self.op.dtype.type(beta)
        self.az += ax_new
        self.t = t_new
        self.x, self.x_new = x_new, self.x
        self.ax = ax_new
        self.last_step = float(np.sqrt(dot(self.diff, self.diff)))
        value = self.fista_objective(self.x, self.ax)
        if not self.objectives or value < self.objectives[-1]:
            np.copyto(self.best, self.x)  # the iterate handed out: the best one seen
            self.objectives.append(value)
        else:
            self.objectives.append(self.objectives[-1])
        self.record_change(self.x, self.diff)
        self.converged = False
        if dual is not None:
            self.check_gap(*dual)
