"""The TV solver's duality gap: a lower bound of ``min ½‖A x − d‖² + λ TV(x) (+ x ≥ 0)``.

Notes
-----
With ``TV(x) = max_{|p| ≤ 1} ⟨∇x, p⟩`` (``p`` a field ``(2, H, W, C)`` of vectors of
length ≤ 1 per pixel and channel), the Lagrangian dual is

.. math:: D(w, p) = −⟨d, w⟩ − ½‖w‖² \\quad\\text{if}\\quad Aᵀw + λ∇ᵀp = s,

with ``s = 0`` (``s ≥ 0`` under ``x ≥ 0``). The solver hands over ``w = A z − d``,
``Aᵀ w`` and the TV prox's dual field ``p`` (scaled to the unit ball); at the minimum
they satisfy the constraint. Away from it they miss by a little, and three exact
repairs make the point feasible:

1. **The constants.** ``∇ᵀp`` sums to zero over each channel, so ``Aᵀw`` must too
   (the TV cannot see a constant added to a channel). ``w ← w − A m`` with ``m`` the
   per-channel constant image solving ``G α = σ`` (``G`` the Gram matrix of the
   constant responses, ``σ`` the channel sums of ``Aᵀ w``): one forward and one adjoint.
   Under ``x ≥ 0`` the sums need only be ``≥ 0`` (a positive one is taken by ``s``):
   ``α = −μ`` with ``μ ≥ 0`` minimising ``‖A m‖² − 2⟨w, A m⟩``, a non-negative least
   squares on a ``C × C`` factor of ``G`` (its optimality conditions are ``σ + G μ ≥ 0``).
   Zeroing only the negative sums is not enough when ``G`` is singular: channels whose
   constant responses are parallel (a 1×1 layer mixing two channels into one with
   weights of opposite signs) move their sums together, and ``G α = min(σ, 0)`` then has
   no solution: the point stayed infeasible and its "bound" exceeded the minimum.
2. **The rest of the constraint**, ``r = (s − Aᵀw)/λ − ∇ᵀp`` (zero sums now), is
   absorbed by the minimum-norm ``δ`` with ``∇ᵀδ = r``: ``δ = ∇u`` with ``∇ᵀ∇ u = r``,
   a Neumann Poisson problem that the orthonormal DCT-II diagonalises (eigenvalues
   ``4 − 2 cos(πk/H) − 2 cos(πl/W)``). Under ``x ≥ 0``, ``s`` is the non-negative image
   nearest ``Aᵀw + λ∇ᵀp`` with the channel sums it must have (a simplex projection).
   Before that, :data:`REFINE` alternating projections (this correction, then a
   projection of the field onto the unit ball) move ``p`` nearer a feasible field.
3. **The unit ball.** ``p + δ`` may be a little longer than 1 somewhere: the whole dual
   point ``(w, p + δ, s)`` is scaled by ``θ ≤ 1 / max |p + δ|`` (the constraint is
   linear and homogeneous), the best such ``θ`` for ``D``.
"""

from __future__ import annotations

import numpy as np
from scipy import fft
from scipy.optimize import nnls

from ..solvers.duality import ConstantResponses, best_scale

__all__ = ["REFINE", "gradient", "gradient_adjoint", "poisson_field", "tv_dual_bound"]

#: Alternating projections (onto the constraint, then onto the unit ball) that bring the
#: field nearer a feasible one before the final scaling: on a 24² circular case at
#: λ = 10⁻⁴, 10 of them took the longest vector from 1.018 to 1.008 (300: 1.003).
REFINE = 10


def gradient(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Forward differences of an ``(H, W, C)`` image: ``(2, H, W, C)``, zero past the edge.

    ``out[0]`` holds ``x[i+1, j] − x[i, j]`` (0 in the last row), ``out[1]`` holds
    ``x[i, j+1] − x[i, j]`` (0 in the last column). ``out``, when given, must have its
    last row of ``out[0]`` and last column of ``out[1]`` zero (they are never written).
    """
    if out is None:
        out = np.zeros((2, *x.shape), dtype=x.dtype)
    np.subtract(x[1:], x[:-1], out=out[0, :-1])
    np.subtract(x[:, 1:], x[:, :-1], out=out[1, :, :-1])
    return out


def gradient_adjoint(p: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``∇ᵀ p`` (minus the divergence) of a ``(2, H, W, C)`` field whose edge entries are zero."""
    if out is None:
        out = np.empty(p.shape[1:], dtype=p.dtype)
    np.negative(p[0], out=out)
    out[1:] += p[0, :-1]
    out -= p[1]
    out[:, 1:] += p[1, :, :-1]
    return out


def poisson_field(r: np.ndarray) -> np.ndarray:
    """The minimum-norm field ``δ`` with ``∇ᵀδ = r`` for an ``(H, W, C)`` ``r`` whose
    channels sum to zero (a non-zero sum is dropped: it is outside the range of ``∇ᵀ``)."""
    h, w = r.shape[:2]
    eig = (2.0 - 2.0 * np.cos(np.pi * np.arange(h) / h))[:, None] + (
        2.0 - 2.0 * np.cos(np.pi * np.arange(w) / w)
    )[None, :]
    eig[0, 0] = 1.0
    spectrum = fft.dctn(r, type=2, axes=(0, 1), norm="ortho")
    spectrum /= eig[:, :, None]
    spectrum[0, 0] = 0.0
    return gradient(fft.idctn(spectrum, type=2, axes=(0, 1), norm="ortho"))


def _constant_shift(gram: np.ndarray, sums: np.ndarray, nonneg: bool) -> np.ndarray:
    """The per-channel constants ``α`` of step 1 (module Notes): the channel sums
    ``σ − G α`` are then 0 (``≥ 0`` under ``x ≥ 0``) whenever such an ``α`` exists, as it
    does for ``σ`` the sums of an ``Aᵀ w`` (they lie in the range of ``G``)."""
    if not nonneg:
        return np.linalg.lstsq(gram, sums, rcond=None)[0]
    # G = RᵀR and σ = Rᵀz: ½ μᵀGμ + σᵀμ = ½‖R μ + z‖² − ½‖z‖², minimised over μ ≥ 0
    values, vectors = np.linalg.eigh(gram)
    factor = np.sqrt(np.maximum(values, 0.0))[:, None] * vectors.T
    z = np.linalg.lstsq(factor.T, sums, rcond=None)[0]
    return -nnls(factor, -z)[0]


def _constant_fix(
    w: np.ndarray, g: np.ndarray, nonneg: bool, responses: ConstantResponses
) -> tuple[np.ndarray, np.ndarray]:
    """``w − A m`` and ``g − Aᵀ A m`` for the constant image ``m`` that makes the channel
    sums of ``g`` zero (non-negative under ``x ≥ 0``; step 1 of the module Notes)."""
    alpha = _constant_shift(responses.gram(), g.sum(axis=(0, 1)), nonneg)
    m = np.broadcast_to(alpha, g.shape).copy()
    am = np.asarray(responses.op.apply(m), np.float64)
    return w - am, g - np.asarray(responses.op.apply_adjoint(am), np.float64)


def _slack(g: np.ndarray, grad_p: np.ndarray, lam: float, sums: np.ndarray) -> np.ndarray:
    """The non-negative ``s`` with the channel sums ``sums`` nearest ``Aᵀw + λ∇ᵀp``: per
    channel, the Euclidean projection onto a scaled simplex, ``max(v − κ, 0)`` with the
    shift ``κ`` that gives the sum (Held, Wolfe and Crowder's sort)."""
    v = (g + lam * grad_p).reshape(-1, g.shape[2])
    s = np.zeros_like(v)
    for c in range(v.shape[1]):
        if sums[c] <= 0:
            continue
        desc = np.sort(v[:, c])[::-1]
        kappas = (np.cumsum(desc) - sums[c]) / np.arange(1, desc.size + 1)
        count = int(np.count_nonzero(desc - kappas > 0))
        s[:, c] = np.maximum(v[:, c] - kappas[max(count, 1) - 1], 0.0)
    return s.reshape(g.shape)


def tv_dual_bound(
    w: np.ndarray,
    g: np.ndarray,
    p: np.ndarray,
    lam: float,
    nonneg: bool,
    responses: ConstantResponses,
) -> float:
    """A lower bound of ``min ½‖A x − d‖² + λ TV(x) (+ ι_{x≥0})`` (see the module Notes).

    Parameters
    ----------
    w : numpy.ndarray
        A residual ``A z − d`` (output-shaped).
    g : numpy.ndarray
        ``Aᵀ w`` (image-shaped).
    p : numpy.ndarray
        A field ``(2, H, W, C)`` (the TV prox's, scaled to length ≤ 1).
    lam, nonneg
        The problem's λ and constraint.
    responses : ConstantResponses
        The operator's constant responses and the data ``d``.
    """
    d = responses.d
    w = np.asarray(w, np.float64)
    g = np.asarray(g, np.float64)
    p = np.asarray(p, np.float64)
    sums = g.sum(axis=(0, 1))
    if np.any(sums < 0) if nonneg else np.any(sums != 0):
        w, g = _constant_fix(w, g, nonneg, responses)
        sums = g.sum(axis=(0, 1))
    grad_p = gradient_adjoint(p)
    if nonneg:
        target = (_slack(g, grad_p, lam, np.maximum(sums, 0.0)) - g) / lam
    else:
        target = -g / lam
    field = p.copy()
    for _ in range(REFINE):  # alternating projections: the constraint, then the ball
        field += poisson_field(target - gradient_adjoint(field))
        field /= np.maximum(np.sqrt(field[0] ** 2 + field[1] ** 2), 1.0)
    field += poisson_field(target - gradient_adjoint(field))
    longest = float(np.sqrt(field[0] ** 2 + field[1] ** 2).max(initial=0.0))
    top = 1.0 / max(1.0, longest)
    linear, quadratic = -float(np.vdot(d, w)), float(np.vdot(w, w))
    theta = best_scale(linear, quadratic, top)
    return theta * linear - 0.5 * theta * theta * quadratic
