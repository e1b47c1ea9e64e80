"""``M(ω)^+`` of blocks whose output channels mix the same inputs, by the normal equations.

Each block ``M(ω)`` (``C_out × n``, ``n = s_h s_w C_in``) is written ``T = M^*`` when it is
wide (``C_out ≤ n``) and ``T = M`` when it is tall, so that ``T`` (``m × k``, ``k`` the
smaller side) has full column rank at a regular frequency, and

.. math:: T^+ = (T^*T + reg\\,I)^{-1} T^*, \\qquad M^+ = (T^+)^* \\text{ or } T^+.

``G = T^*T`` is ``k × k``: its Cholesky factor, the inverse and the products are computed
entry by entry, each a vectorised operation over a piece of the frequencies (the
frequency axis last, contiguous), so no LAPACK call is made per block (a batched SVD of
the 3 × 12 blocks of a 1 MP stride-2 layer costs a hundred forward+adjoint pairs).

**Exactness.** A frequency is solved this way only when that is as exact as its SVD and
cuts nothing (the singular values at or below ``cutoff σ_max`` are dropped, ``σ_max``
over all frequencies): when the Cholesky factorisation of ``G`` succeeds,
``κ(G) ≤ tr(G) tr(G^{-1}) ≤`` :data:`_KAPPA_LIMIT` and its smallest singular value,
at least ``1/\\sqrt{tr(G^{-1})}``, is above ``cutoff`` times a bound on ``σ_max``
(:attr:`~deconv_gui.core.solvers.periodic.BlockRows.magnitude`). The other frequencies
(rank-deficient or ill-conditioned ones: a filter's zeros, the cut) take the SVD, which
decides what is kept against the exact ``σ_max``. Forming ``G`` squares the condition
number; for a complex128 solve one Newton step,
``T^+ ← T^+ + (I − T^+ T − reg\\,G_{reg}^{-1}) T^+``, whose residual comes from ``T``
itself, brings the error back to that of the SVD (``ε κ(M)``) where ``tr(G) tr(G^{-1})``
exceeds :data:`_REFINE_ABOVE`. A complex64 solve keeps the float64 factors' rounding,
``ε_{64} κ(G) ≤ 10^{-8}``, below its own.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from .. import lapack, threads
from .base import CancelCheck, SolveCancelled, is_cancelled
from .periodic import BlockRows, mirror_weight

__all__ = ["batched_svd", "normal_factors", "reduce_outputs"]

#: Largest ``tr(G) tr(G⁻¹)`` (a bound on ``κ(G) = κ(M)²``) solved through ``G``.
_KAPPA_LIMIT = 1e8
#: Above this ``tr(G) tr(G⁻¹)`` a complex128 solve takes one Newton step.
_REFINE_ABOVE = 1e3
#: Bytes of blocks handled at a time (with their products: a few times this).
_PIECE_BYTES = 2**23
#: Singular values are safely above the cut by this factor (the rounding of ``G``).
_MARGIN = 1.001
#: Frequencies per batched SVD (of those that fall back to it): the cancel check runs
#: between batches.
_SVD_BATCH = 8192

Entries = list[list[Any]]  # k × k, each an (f,) array over the frequencies of a piece


def normal_factors(
    blocks: BlockRows,
    w_out: int,
    reg: float,
    cutoff: float,
    precision: Any,
    cancel: CancelCheck | None,
) -> tuple[np.ndarray, int]:
    """``M(ω)^+`` at every frequency as ``(C_out, H', s_h, W'', s_w, C_in)`` in
    ``precision``, and the singular values kept over all frequencies.

    ``blocks`` are ``by_phase`` rows, ``w_out`` the output's width. Raises
    :class:`~deconv_gui.core.solvers.SolveCancelled` between pieces when ``cancel`` says so.

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import ConvOperator
    >>> from deconv_gui.core.solvers.periodic import polyphase_blocks
    >>> w = np.random.default_rng(0).standard_normal((3, 3, 2, 3))
    >>> op = ConvOperator.from_weights(w, input_shape=(6, 4, 2), stride=(2, 1), padding=1,
    ...                                padding_mode="circular")
    >>> rows, rank = normal_factors(BlockRows(op, by_phase=True), 4, 0.0, 1e-15,
    ...                             np.complex128, None)
    >>> per_frequency = rows.transpose(1, 3, 2, 4, 5, 0).reshape(3, 3, 4, 3)
    >>> bool(np.allclose(per_frequency, np.linalg.pinv(polyphase_blocks(op)))), rank
    (True, 36)
    """
    c_out, sh, n_w, sw, c_in = blocks.shape
    n, h_out = sh * sw * c_in, len(blocks.along_h)
    lh = blocks.along_w.shape[0]
    # (lh, W'' C_out n): the product with the DFT along the rows gives (k, W'', C_out, n),
    # the frequencies first, so that the small products are batched matrix products
    along_w = blocks.along_w.reshape(lh, c_out, sh, n_w, sw, c_in).transpose(0, 3, 1, 2, 4, 5)
    along_w = np.ascontiguousarray(along_w).reshape(lh, -1)
    bound = float(lapack.svd(blocks.magnitude, compute_uv=False)[0]) * (1 + 1e-12)
    rows = np.empty((c_out, h_out, sh, n_w, sw, c_in), precision)  # every entry is written
    step = max(1, _PIECE_BYTES // (16 * c_out * n * n_w))
    starts = range(0, h_out, step)

    def solve(first: int, last: int) -> list[tuple[int, dict[str, Any]]]:
        done = []
        for start in starts[first:last]:
            if is_cancelled(cancel):
                raise SolveCancelled("the per-frequency factorisation was cancelled")
            m = (blocks.along_h[start : start + step] @ along_w).reshape(-1, c_out, n)
            solved, piece = _solve_piece(m, reg, cutoff * bound, precision == np.complex128)
            target = rows[:, start : start + step].transpose(1, 3, 0, 2, 4, 5)  # (k, W'', C_out, …)
            if c_out <= n:  # M^+ = (T^+)^*
                np.conjugate(solved.reshape(target.shape), out=target)
            else:
                target[...] = solved.swapaxes(1, 2).reshape(target.shape)
            done.append((start, piece))
        return done

    # the pieces in the shared pool's threads (numpy and one-thread BLAS release the GIL)
    pieces = [piece for part in threads.map_chunks(solve, len(starts)) for piece in part]
    weight = mirror_weight(n_w, w_out)
    return _fall_back(rows, blocks, weight, pieces, (reg, cutoff), cancel)


def reduce_outputs(
    blocks: BlockRows, w_out: int, cutoff: float
) -> tuple[BlockRows, np.ndarray] | None:
    """Blocks ``Vᵀ M(ω)`` of fewer rows and ``V`` ``(C_out, r)`` (orthonormal columns)
    when the output channels are linearly dependent (one filter twice; a preset's rotated
    copies of a symmetric blur), else None.

    ``V`` spans the outputs' taps (:attr:`~BlockRows.taps`) but for directions whose
    parts of every ``M(ω)`` sum to less than half the cut (a direction ``σ u v^T`` of the
    taps moves ``M(ω)`` by at most ``σ ‖(Σ_t |v_{j,t}|)_j‖``, ``j`` the columns and ``t``
    their taps), against lower bounds on ``σ_max``: that of ``M(0)``, and the mean of
    ``‖M(ω)‖_F² / k``. Then ``M(ω) = V Vᵀ M(ω)``, ``M^+ = (Vᵀ M)^+ Vᵀ`` with the same
    singular values, and what was dropped is what the cut drops.
    """
    c_out, sh, n_w, sw, c_in = blocks.shape
    n, (h_out, lh) = sh * sw * c_in, blocks.along_h.shape
    u, values, vh = lapack.svd(blocks.taps, full_matrices=False)
    n_taps = blocks.taps.shape[1] // n
    reach = np.linalg.norm(np.abs(vh.reshape(len(vh), n, n_taps)).sum(axis=2), axis=1)
    dc = blocks.taps.reshape(c_out, n, n_taps).sum(axis=2)  # M(0): no wrapping changes it
    top = float(lapack.svd(dc, compute_uv=False)[0])
    if h_out >= lh and w_out >= n_taps // lh:  # no tap wraps onto another: Parseval
        top = max(top, float(np.sqrt((values**2).sum() / min(c_out, n))))
    moved = np.cumsum((values * reach)[::-1])[::-1]  # by dropping from each direction on
    rank = int((moved > 0.5 * cutoff * top).sum())
    if rank in (0, c_out):
        return None
    mixing = u[:, :rank]
    reduced = copy.copy(blocks)
    along_w = blocks.along_w.reshape(lh, c_out, -1)
    reduced.along_w = np.matmul(mixing.T, along_w).reshape(lh, -1)
    reduced.shape = (rank, sh, n_w, sw, c_in)
    reduced.magnitude = np.abs(mixing).T @ blocks.magnitude  # |Vᵀ M| ≤ |Vᵀ| |M|
    reduced.taps = mixing.T @ blocks.taps
    reduced.owner = None
    return reduced, mixing


def _solve_piece(
    m: np.ndarray, reg: float, floor: float, refine: bool
) -> tuple[np.ndarray, dict[str, Any]]:
    """``T^+`` of the blocks ``m`` ``(f, C_out, n)``, ``(f, k, m)`` (meaningless where not
    safe), and what the fallback needs: which frequencies are safe, their blocks if not,
    and bounds on their largest singular value."""
    c_out, n = m.shape[1:]
    adjoint = np.conjugate(m).swapaxes(1, 2)
    t, t_adjoint = (adjoint, m) if c_out <= n else (m, adjoint)
    k = t.shape[2]
    gram = np.ascontiguousarray((t_adjoint @ t).transpose(1, 2, 0))  # (k, k, f)
    diagonal = gram[np.arange(k), np.arange(k)].real
    trace = diagonal.sum(axis=0)
    largest = np.maximum(trace / k, diagonal.max(axis=0))  # ≤ σ_max²
    inverse, trace_inverse, ok = _hermitian_inverse(gram)
    kappa = trace * trace_inverse
    with np.errstate(divide="ignore", invalid="ignore"):
        smallest = 1.0 / trace_inverse  # ≤ σ_min²
    safe = ok & (kappa <= _KAPPA_LIMIT) & (smallest > (_MARGIN * floor) ** 2) & (floor > 0)
    if reg > 0:
        gram[np.arange(k), np.arange(k)] += reg
        inverse, trace_inverse, _ = _hermitian_inverse(gram)
        kappa = (trace + k * reg) * trace_inverse
    solved = inverse @ t_adjoint  # T^+ = G⁻¹ T^*, (f, k, m)
    needed = safe & (kappa > _REFINE_ABOVE) if refine else np.zeros(safe.shape, bool)
    if needed.any():
        # the frequencies that need it (all of them when they are most)
        some = slice(None) if needed.mean() > 0.5 else np.flatnonzero(needed)
        solved[some] = _newton_step(solved[some], t[some], inverse[some], reg)
    piece = {
        "safe": safe,
        "blocks": m[~safe],
        "lower": float(np.sqrt(largest[safe].max())) if safe.any() else 0.0,
        "upper": float(np.sqrt(trace[safe].max())) if safe.any() else 0.0,
        "trace": trace,
    }
    return solved, piece


def _newton_step(solved: np.ndarray, t: np.ndarray, inverse: np.ndarray, reg: float) -> np.ndarray:
    """``X + (I − X T − reg G_reg⁻¹) X`` for ``X ≈ T^+``: the residual is formed from
    ``T`` (rounding ``ε κ(T)``), not from ``G`` (``ε κ(T)²``)."""
    k = solved.shape[1]
    residual = -(solved @ t)
    if reg:
        residual -= reg * inverse
    residual[:, np.arange(k), np.arange(k)] += 1.0
    solved += residual @ solved
    return solved


def _hermitian_inverse(gram: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``G⁻¹`` ``(f, k, k)``, ``tr(G⁻¹)`` and where the Cholesky factorisation
    ``G = L L^*`` succeeded, from the lower triangle of ``G`` ``(k, k, f)``;
    ``G⁻¹ = L^{-*} L^{-1}``.

    ``L`` and ``L⁻¹`` are made a column (a row) at a time, each step one vectorised
    operation over the entries below (left of) the diagonal and the frequencies: entry by
    entry the Python loop ran ``k³/2`` small operations, which took most of the time of
    an 8-output layer.
    """
    k, f = len(gram), gram.shape[2]
    low = np.zeros((k, k, f), complex)
    ok = np.ones(f, bool)
    for j in range(k):
        pivot = gram[j, j].real - _abs2(low[j, :j]).sum(axis=0)
        ok &= pivot > 0
        low[j, j] = diagonal = np.sqrt(np.where(pivot > 0, pivot, 1.0))
        products = (low[j + 1 :, :j] * np.conjugate(low[j, :j])).sum(axis=1)
        low[j + 1 :, j] = (gram[j + 1 :, j] - products) / diagonal
    inv = np.zeros((k, k, f), complex)  # L⁻¹, lower
    for i in range(k):
        scale = 1.0 / low[i, i].real
        inv[i, :i] = (low[i, :i, None] * inv[:i, :i]).sum(axis=0) * -scale
        inv[i, i] = scale
    trace = _abs2(inv).sum(axis=(0, 1))
    inv = np.ascontiguousarray(inv.transpose(2, 0, 1))
    out = np.conjugate(inv).swapaxes(1, 2) @ inv
    return out, trace, ok & np.isfinite(trace)


def _abs2(z: np.ndarray) -> np.ndarray:
    return z.real * z.real + z.imag * z.imag


def _fall_back(
    rows: np.ndarray,
    blocks: BlockRows,
    weight: np.ndarray,
    pieces: list[tuple[int, dict[str, Any]]],
    reg_cutoff: tuple[float, float],
    cancel: CancelCheck | None,
) -> tuple[np.ndarray, int]:
    """The SVD of the frequencies not solved through ``G``, cut against the exact
    ``σ_max``; the rank over all frequencies (``weight``: :func:`mirror_weight`)."""
    (reg, cutoff), (c_out, _, sh, n_w, sw, c_in) = reg_cutoff, rows.shape
    k = min(c_out, sh * sw * c_in)
    rank = 0
    where, stack = [], []
    for start, piece in pieces:
        safe = piece["safe"].reshape(-1, n_w)
        rank += k * int((safe * weight).sum())
        h, w = np.nonzero(~safe)
        where.append((h + start, w))
        stack.append(piece["blocks"])
    lower = max((p["lower"] for _, p in pieces), default=0.0)
    upper = max((p["upper"] for _, p in pieces), default=0.0)
    hs = np.concatenate([h for h, _ in where])
    ws = np.concatenate([w for _, w in where])
    if not len(hs):
        return rows, rank
    u, s, vh = batched_svd(np.concatenate(stack), cancel)
    top = max(lower, float(s.max()))
    upper = max(upper, float(s.max()))
    if ((s > cutoff * top) != (s > cutoff * upper)).any():  # the exact σ_max decides
        top = max(float(s.max()), _largest(blocks, pieces, top))
    keep = s > cutoff * top if top > 0 else np.zeros(s.shape, bool)
    gain = np.where(keep, s / np.where(keep, s * s + reg, 1.0), 0.0)
    solved = np.einsum("foi,fi,fij->foj", u.conj(), gain, vh.conj())
    rows[:, hs, :, ws, :, :] = solved.reshape(len(hs), c_out, sh, sw, c_in)
    rank += int((keep.sum(axis=1) * weight[ws]).sum())
    return rows, rank


def _largest(blocks: BlockRows, pieces: list[tuple[int, dict[str, Any]]], above: float) -> float:
    """The exact ``σ_max`` over the frequencies solved through ``G`` whose bound
    ``√tr(G)`` exceeds ``above``."""
    c_out, sh, n_w, sw, c_in = blocks.shape
    top = 0.0
    for start, piece in pieces:
        candidates = piece["safe"] & (np.sqrt(piece["trace"]) > above)
        if not candidates.any():
            continue
        stop = start + len(piece["trace"]) // n_w
        m = blocks(start, stop).transpose(0, 3, 1, 2, 4, 5)  # (k, W'', C_out, s_h, s_w, C_in)
        m = m.reshape(-1, c_out, sh * sw * c_in)[candidates]
        top = max(top, float(lapack.svd(m, compute_uv=False)[:, 0].max()))
    return top


def batched_svd(
    blocks: np.ndarray, cancel: CancelCheck | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The thin SVD of every block ``(…, C_out, n)``, in batches of frequencies with a
    cancel check between."""
    flat = blocks.reshape(-1, *blocks.shape[-2:])
    m = min(flat.shape[-2:])
    u = np.empty((len(flat), flat.shape[1], m), complex)
    s = np.empty((len(flat), m))
    vh = np.empty((len(flat), m, flat.shape[2]), complex)
    for start in range(0, len(flat), _SVD_BATCH):
        if is_cancelled(cancel):
            raise SolveCancelled("the per-frequency factorisation was cancelled")
        part = slice(start, start + _SVD_BATCH)
        u[part], s[part], vh[part] = lapack.svd(flat[part], full_matrices=False)
    lead = blocks.shape[:-2]
    return u.reshape(*lead, *u.shape[1:]), s.reshape(*lead, m), vh.reshape(*lead, *vh.shape[1:])
