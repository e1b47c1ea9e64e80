"""Duality-gap certificates for the FISTA solvers: what makes "converged" a proof.

FISTA minimises ``P(x) = ½‖A x − d‖² + ½ reg ‖x‖² + g(x)``. Every dual point ``(w, …)``
gives a lower bound ``D ≤ min P`` (weak duality), so ``P(x̂) − D`` bounds how far the
returned ``x̂`` is above the minimum, whatever the iterations did. The solvers build a
dual point from products they already have: ``w = A z − d`` (the residual at FISTA's
extrapolated point) and its adjoint ``Aᵀ w`` (the data gradient they just computed),
made exactly feasible and then scaled by the best ``θ ∈ [0, θ_max]`` (the dual is a
concave quadratic in ``θ``). At the minimum ``w = A x* − d`` is the optimal dual point,
so the gap closes as the iterates converge.

This module holds the parts shared by TV and non-negative least squares: the responses
of the operator to constant images (the directions the TV cannot see, and a direction
that lifts ``Aᵀ w`` to ``≥ 0``), the non-negative least-squares bound and the relative
gap. The TV's own dual (with its field ``p``) is in :mod:`deconv_gui.core.priors.tv_gap`.
"""

from __future__ import annotations

import numpy as np

from ..operator import ConvOperator

__all__ = [
    "CHECK_CHANGE",
    "CHECK_EVERY",
    "ConstantResponses",
    "best_scale",
    "nonneg_dual_bound",
    "relative_gap",
]

#: The gap is measured every CHECK_EVERY iterations (and at the last one) ...
CHECK_EVERY = 10
#: ... once the relative change of the iterates is at most this (before, the gap is
#: far from any tolerance, and the first check of a TV solve pays for the Gram matrix
#: of the constant responses: one forward per input channel).
CHECK_CHANGE = 1e-2
#: The gap relative to the objective, or to this fraction of ``½‖d‖²`` when the
#: minimum is nearer zero (data reached exactly).
FLOOR = 1e-6
#: Input channels per batch when the constant responses are computed.
_BATCH = 8
#: The responses themselves are kept (for :meth:`ConstantResponses.best_shift`) up to
#: this many numbers (32 MiB).
_KEEP = 1 << 22


class ConstantResponses:
    """The operator's responses to constant images, computed once when first asked for.

    Parameters
    ----------
    op : ConvOperator
        The operator ``A`` (any padding mode, groups, or a transposed layer).
    d : numpy.ndarray
        The (centred) data, output-shaped.
    """

    def __init__(self, op: ConvOperator, d: np.ndarray) -> None:
        self.op = op
        self.d = np.asarray(d, dtype=np.float64)
        self._gram: np.ndarray | None = None
        self._stack: np.ndarray | None = None
        self._ata_ones: np.ndarray | None = None
        self._atd: np.ndarray | None = None

    def gram(self) -> np.ndarray:
        """``G_cc' = ⟨A 1_c, A 1_c'⟩`` for the constant images ``1_c`` of each input channel."""
        if self._gram is None:
            shape = self.op.geometry.input_shape
            channels = shape[2]
            responses = []
            for start in range(0, channels, _BATCH):
                stop = min(start + _BATCH, channels)
                batch = np.zeros((stop - start, *shape))
                for k in range(stop - start):
                    batch[k, :, :, start + k] = 1.0
                responses.append(self.op.apply(batch).reshape(stop - start, -1))
            stack = np.concatenate(responses).astype(np.float64, copy=False)
            self._gram = stack @ stack.T
            if stack.size <= _KEEP:
                self._stack = stack
        return self._gram

    def best_shift(self, ax: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The per-channel constants ``α`` minimising ``‖A (x + α) − d‖²`` given ``A x``,
        and ``A α`` (None when the responses were too large to keep)."""
        gram = self.gram()
        if self._stack is None:
            return None
        residual = np.asarray(ax, np.float64).ravel() - self.d.ravel()
        alpha = np.linalg.lstsq(gram, -(self._stack @ residual), rcond=None)[0]
        return alpha, (alpha @ self._stack).reshape(self.d.shape)

    def ata_ones(self) -> np.ndarray:
        """``Aᵀ A 1`` (the all-ones image), input-shaped."""
        if self._ata_ones is None:
            ones = np.ones(self.op.geometry.input_shape)
            self._ata_ones = np.asarray(self.op.apply_adjoint(self.op.apply(ones)), np.float64)
        return self._ata_ones

    def atd(self) -> np.ndarray:
        """``Aᵀ d``, input-shaped."""
        if self._atd is None:
            self._atd = np.asarray(self.op.apply_adjoint(self.d), np.float64)
        return self._atd


def best_scale(linear: float, quadratic: float, top: float) -> float:
    """The ``θ ∈ [0, top]`` maximising ``θ·linear − ½ θ²·quadratic`` (a concave quadratic)."""
    if quadratic <= 0:
        return top if linear > 0 else 0.0
    return float(np.clip(linear / quadratic, 0.0, top))


def _lift(g: np.ndarray, h: np.ndarray) -> float:
    """The least ``t ≥ 0`` with ``g + t h ≥ 0`` everywhere (inf if there is none): ``t``
    must raise every negative ``g`` (``h > 0`` there) without lowering any entry below 0
    where ``h < 0``."""
    negative = g < 0
    if not negative.any():
        return 0.0
    if np.any(h[negative] <= 0):
        return np.inf
    low = float(np.max(-g[negative] / h[negative]))
    falling = h < 0
    high = float(np.min(g[falling] / -h[falling])) if falling.any() else np.inf
    return low if low <= high else np.inf


def nonneg_dual_bound(
    w: np.ndarray, g: np.ndarray, reg: float, responses: ConstantResponses
) -> float:
    """A lower bound of ``min_{x ≥ 0} ½‖A x − d‖² + ½ reg ‖x‖²`` from ``w`` and ``g = Aᵀ w``.

    Notes
    -----
    The Fenchel dual is ``D(w) = −⟨d, w⟩ − ½‖w‖² − ‖max(−Aᵀw, 0)‖² / (2 reg)``, defined
    for every ``w`` when ``reg > 0``. With ``reg = 0`` it needs ``Aᵀ w ≥ 0``: a ``w``
    that misses it is lifted along a direction ``u`` whose ``Aᵀ u`` is known and
    positive where ``Aᵀ w`` is negative: ``A 1`` (``Aᵀ A 1 ≥ 0`` for a filter without
    negative weights), ``−d``, ``A z = w + d`` or ``A v`` with ``v = max(−Aᵀw, 0)``
    (one forward and one adjoint; it lifts where ``AᵀA`` is diagonally dominant). Where
    none lifts it, there is no bound but the trivial one, ``D(0) = 0``.
    """
    d = responses.d
    w = np.asarray(w, np.float64)
    g = np.asarray(g, np.float64)
    if reg > 0:
        excess = np.maximum(-g, 0.0)
        quadratic = float(np.vdot(w, w)) + float(np.vdot(excess, excess)) / reg
        theta = best_scale(-float(np.vdot(d, w)), quadratic, np.inf)
        return -theta * float(np.vdot(d, w)) - 0.5 * theta * theta * quadratic
    # rounding: an Aᵀ w of a column that A never reads is ~1e-16 of the rest, not < 0
    g = np.where(np.abs(g) <= 1e-13 * float(np.max(np.abs(g), initial=0.0)), 0.0, g)
    best = 0.0  # w = 0 is always feasible
    lifts = [(np.zeros_like(w), np.zeros_like(g))]
    if g.min() < 0:
        atd = responses.atd()
        ones = np.ones(g.shape)
        a_ones = np.asarray(responses.op.apply(ones), np.float64)
        # A v for v the negative part of g: (AᵀA v)_i is about ‖a_i‖² v_i > 0 where g_i < 0
        # when AᵀA is diagonally dominant (one forward and one adjoint)
        negative = np.maximum(-g, 0.0)
        a_negative = np.asarray(responses.op.apply(negative), np.float64)
        ata_negative = np.asarray(responses.op.apply_adjoint(a_negative), np.float64)
        lifts = [
            (a_ones, responses.ata_ones()),
            (-d, -atd),
            (w + d, g + atd),
            (a_negative, ata_negative),
        ]
    for u, h in lifts:
        t = _lift(g, h)
        if not np.isfinite(t):
            continue
        lifted = w + t * u
        linear, quadratic = -float(np.vdot(d, lifted)), float(np.vdot(lifted, lifted))
        theta = best_scale(linear, quadratic, np.inf)
        best = max(best, theta * linear - 0.5 * theta * theta * quadratic)
    return best


def relative_gap(primal: float, lower: float, data_scale: float) -> float:
    """``(P − D) / max(D, 10⁻⁶ ½‖d‖²)``: it bounds ``(P − P*) / P*`` from above (P* ≥ D)."""
    if not np.isfinite(lower):
        return np.inf
    return max(primal - lower, 0.0) / max(lower, FLOOR * data_scale, np.finfo(float).tiny)
