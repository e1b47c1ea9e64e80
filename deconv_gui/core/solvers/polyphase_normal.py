"""``M(ω)^+`` of blocks whose output channels mix the same inputs, by the normal equations.

Each block ``M(ω)`` (``C_out × n``, ``n = s_h s_w C_in``) is written ``T = M^*`` when it is
wide (``C_out ≤ n``) and ``T = M`` when it is tall, so that ``T`` (``m × k``, ``k`` the
smaller side) has full column rank at a regular frequency, and

.. math:: T^+ = (T^*T + reg\\,I)^{-1} T^*, \\qquad M^+ = (T^+)^* \\text{ or } T^+.

``G = T^*T`` is ``k × k``, made from the blocks' lag matrices without the blocks
(:class:`~deconv_gui.core.solvers.polyphase_gram.LagGram`); its Cholesky factor ``L`` is
computed a column at a time, each step a vectorised operation over a piece of the
frequencies (the frequency axis last, contiguous), so no LAPACK call is made per block (a
batched SVD of the 3 × 12 blocks of a 1 MP stride-2 layer costs a hundred forward+adjoint
pairs). ``L`` is what is kept (:class:`NormalFactors`, ``k²`` numbers per frequency): a
solve applies ``G⁻¹`` by two substitutions to its right-hand sides and ``M^*``
(``C_out ≤ n``) before or after, so ``M^+`` itself (``C_out n`` numbers, ``k`` times the
work) is never formed but on request (:meth:`NormalFactors.rows`). Wide blocks are
solved without ``M^*``: :meth:`NormalFactors.solve_outputs` gives ``u = G_reg⁻¹ ŷ`` on
the output grid, and the caller applies ``Aᵀ`` to its inverse transform (one adjoint
convolution). ``L⁻¹`` is made for ``tr(G⁻¹)`` only, where a cheap bound on ``tr(G⁻¹)``
(:func:`~deconv_gui.core.solvers.batched_cholesky.inverse_trace_bound`) does not prove
the frequency safe (and by a complex128 solve of tall blocks, which refines by it).

**Exactness.** A frequency is solved this way only when that is as exact as its SVD and
cuts nothing (the singular values at or below ``cutoff σ_max`` are dropped, ``σ_max``
over all frequencies): when the Cholesky factorisation of ``G`` succeeds,
``κ(G) ≤ ‖G‖_F tr(G^{-1}) ≤`` :data:`_KAPPA_LIMIT` and its smallest singular value,
at least ``1/\\sqrt{tr(G^{-1})}``, is above ``cutoff`` times a bound on ``σ_max``
(:attr:`~deconv_gui.core.solvers.periodic.BlockRows.magnitude`). The other frequencies
(rank-deficient or ill-conditioned ones: a filter's zeros, the cut) take the SVD, which
decides what is kept against the exact ``σ_max``, and keep their ``M^+``. Forming ``G``
squares the condition number; for a complex128 solve one step of refinement, the Newton
step ``X ← X + X (I − M X − reg\\,G_{reg}^{-1})`` of ``X ≈ M^+`` applied to the
right-hand side (its residual comes from ``M`` itself), brings the error back to that of
the SVD (``ε κ(M)``) where ``‖G‖_F tr(G^{-1})`` exceeds :data:`_REFINE_ABOVE` (wide
blocks solved on the output grid: the same step with its residual from ``A``, in
:mod:`~deconv_gui.core.solvers.polyphase`). A complex64
solve is computed in complex128 and keeps the factors' rounding, ``ε_{64} κ(G) ≤ 10^{-8}``,
below its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import lapack, threads
from .base import CancelCheck, SolveCancelled, is_cancelled
from .batched_cholesky import (
    cholesky,
    inverse_trace,
    inverse_trace_bound,
    pack_lower,
    solve_packed,
    sum_of_squares,
    trace_where_unsure,
)
from .periodic import BlockRows, mirror_weight
from .polyphase_gram import LagGram
from .polyphase_svd import svd_fall_back

__all__ = ["NormalFactors", "normal_factors"]

#: Largest ``‖G‖_F tr(G⁻¹)`` (a bound on ``κ(G) = κ(M)²``) solved through ``G``.
_KAPPA_LIMIT = 1e8
#: Above this ``‖G‖_F tr(G⁻¹)`` a complex128 solve takes one Newton step.
_REFINE_ABOVE = 1e3
#: Bytes of blocks handled at a time (with their products: a few times this; wide blocks
#: are not made, and their pieces' Gram matrices and factors take about this much).
_PIECE_BYTES = 2**22
#: Singular values are safely above the cut by this factor (the rounding of ``G``).
_MARGIN = 1.001
#: Bytes handled at a time on the output grid (Gram matrices and factors, or factors and
#: right-hand sides): each numpy call of the factorisation and the substitutions then
#: works on thousands of frequencies (a few hundred leave the call overhead and the
#: threads' turns at the GIL as the cost).
_SOLVE_BYTES = 2**23
#: Blocks ``(f, C_out, n)`` and their adjoints ``(f, n, C_out)``.
Made = tuple[np.ndarray, np.ndarray]


class NormalFactors:
    """The factorised normal equations of every block: ``L`` of ``G_reg = T^*T + reg I``
    per frequency, and ``M(ω)^+`` itself where the SVD solved a block.

    :meth:`solve` applies ``M(ω)^+`` to right-hand sides a few frequency rows at a time,
    making the rows' blocks again (one small matrix product); :meth:`rows` is ``M(ω)^+``
    itself.
    """

    def __init__(
        self, blocks: BlockRows, reg: float, factor: np.ndarray, inverted: bool, outputs: bool
    ):
        c_out, sh, n_w, sw, c_in = blocks.shape
        lh = blocks.along_w.shape[0]
        # (lh, W'' C_out n): the product with the DFT along the rows gives (k, W'', C_out,
        # n), the frequencies first, so that the small products are batched products
        along_w = blocks.along_w.reshape(lh, c_out, sh, n_w, sw, c_in).transpose(0, 3, 1, 2, 4, 5)
        self.along_w = np.ascontiguousarray(along_w).reshape(lh, -1)
        self.along_h, self.shape, self.reg = blocks.along_h, blocks.shape, reg
        # ‖|M(0)|‖₂ of the absolute taps: above every σ_max(M(ω)), and the norm of the
        # convolution by |w| (what bounds the rounding of A x)
        self.abs_norm = float(lapack.svd(blocks.magnitude, compute_uv=False)[0])
        # `inverted` (a complex128 solve of tall blocks, which makes L⁻¹ for tr(G⁻¹)): L⁻¹
        # of G_reg = L L^* (H' W'', k, k); else L itself, packed (k (k + 1) / 2, H' W''),
        # 1 / L_jj on its diagonal (batched_cholesky.pack_lower)
        self.factor, self.inverted, self.outputs = factor, inverted, outputs
        self.refine = np.zeros(factor.shape[0 if inverted else -1], bool)  # G ill-conditioned
        self.fallback_at = np.zeros(0, int)  # frequencies (flat) that the SVD solved
        self.fallback_rows = np.zeros((0, c_out, sh * sw * c_in), complex)  # (M^+)ᵀ there
        self.rank = 0

    def blocks(self, start: int, stop: int) -> np.ndarray:
        """``M(ω)`` ``(f, C_out, n)`` of the frequency rows ``start:stop``."""
        return (self.along_h[start:stop] @ self.along_w).reshape(-1, self.shape[0], self.n)

    @property
    def n(self) -> int:
        """The columns of a block, ``s_h s_w C_in``."""
        return self.shape[1] * self.shape[3] * self.shape[4]

    def step(self, batch: int = 0) -> int:
        """Frequency rows per piece, for ``batch`` right-hand sides: the blocks, or on the
        output grid (no blocks made) the Gram matrices and their factors, or the factors
        with the right-hand sides and solutions."""
        if self.outputs:
            k = self.shape[0]
            each = k * (k + 1) // 2 + 2 * k * batch if batch else 2 * k * k
            return max(1, _SOLVE_BYTES // (16 * self.shape[2] * each))
        return max(1, _PIECE_BYTES // (16 * self.shape[2] * self.n * (self.shape[0] + batch)))

    def solve(
        self,
        start: int,
        stop: int,
        rhs: np.ndarray,
        made: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> np.ndarray:
        """``M(ω)^+ rhs`` ``(f, n, B)`` at the frequency rows ``start:stop``, ``rhs``
        ``(f, C_out, B)`` (complex128): ``G⁻¹`` by substitution on each right-hand side,
        one step of refinement (the Newton step of ``M^+`` applied to ``rhs``, its
        residual from ``M``) where ``G`` is not well conditioned. ``made``: the blocks
        there and their adjoints ``(f, n, C_out)``, when already made."""
        if made is None:
            m = self.blocks(start, stop)
            made = m, np.conjugate(m).swapaxes(1, 2)
        m, adjoint = made
        first, last = start * self.shape[2], stop * self.shape[2]
        refine = self.refine[first:last]
        factor = self.factor[first:last] if self.inverted else self.factor[:, first:last]
        wide = m.shape[1] <= m.shape[2]
        with np.errstate(all="ignore"):  # the fallback's frequencies are written over below
            unknown = self._gram(factor, rhs if wide else adjoint @ rhs)
            if refine.any():
                some = slice(None) if refine.mean() > 0.5 else np.flatnonzero(refine)
                u, a, b = unknown[some], adjoint[some], rhs[some]
                if wide:  # u = G⁻¹ rhs, x = M^* u
                    residual = b - m[some] @ (a @ u)
                else:  # x = u = G⁻¹ M^* rhs
                    residual = a @ (b - m[some] @ u)
                if self.reg:
                    residual -= self.reg * u
                at = factor[some] if self.inverted else factor[:, some]
                unknown[some] = u + self._gram(at, residual)
            solved = adjoint @ unknown if wide else unknown
        inside = (self.fallback_at >= first) & (self.fallback_at < last)
        if inside.any():
            rows = self.fallback_rows[inside].swapaxes(1, 2)
            solved[self.fallback_at[inside] - first] = rows @ rhs[self.fallback_at[inside] - first]
        return solved

    def solve_outputs(self, start: int, stop: int, rhs: np.ndarray) -> np.ndarray:
        """``u = G_reg⁻¹ rhs`` ``(f, C_out, B)`` (``rhs`` likewise, complex128) of wide
        blocks at the frequency rows ``start:stop``: ``M^+ rhs = M^* u``. 0 where the SVD
        solved the block (``M^*`` times ``1 / s²`` would lose ``κ(M)`` digits)."""
        first, last = start * self.shape[2], stop * self.shape[2]
        factor = self.factor[first:last] if self.inverted else self.factor[:, first:last]
        with np.errstate(all="ignore"):  # the fallback's frequencies are written over below
            unknown = self._gram(factor, rhs)
        inside = (self.fallback_at >= first) & (self.fallback_at < last)
        if inside.any():
            at = self.fallback_at[inside] - first
            unknown[at] = 0
        return unknown

    def _gram(self, factor: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        """``G⁻¹ rhs`` by :attr:`factor` (of the frequencies of ``rhs`` ``(f, k, B)``)."""
        if self.inverted:  # L^{-*} (L^{-1} rhs)
            return np.conjugate(factor).swapaxes(1, 2) @ (factor @ rhs)
        return solve_packed(factor, rhs)

    def rows(self) -> np.ndarray:
        """``M(ω)^+`` at every frequency as ``(C_out, H', s_h, W'', s_w, C_in)``."""
        c_out, sh, n_w, sw, c_in = self.shape
        h_out = len(self.along_h)
        units = np.broadcast_to(np.eye(c_out, dtype=complex), (n_w, c_out, c_out))
        solved = np.concatenate(
            [self.solve(h, h + 1, np.ascontiguousarray(units)) for h in range(h_out)]
        )
        return solved.reshape(h_out, n_w, sh, sw, c_in, c_out).transpose(5, 0, 2, 1, 3, 4)


def normal_factors(
    blocks: BlockRows,
    w_out: int,
    reg: float,
    cutoff: float,
    refine: bool,
    cancel: CancelCheck | None,
    each: Callable[[NormalFactors, int, int, Made | None], object] | None = None,
    outputs: bool = False,
) -> NormalFactors:
    """The normal equations of every block ``M(ω)`` factorised (``refine``: one step of
    refinement on solving, for a complex128 solve), the SVD where that is not exact;
    singular values at or below ``cutoff σ_max`` dropped.

    ``blocks`` are ``by_phase`` rows, ``w_out`` the output's width. ``each(factors, start,
    stop, made)`` gets each piece once factorised, for a first solve (the SVD's
    frequencies are known at the end only: :attr:`NormalFactors.fallback_at`); ``made``
    is ``(m, m^*)``, or None with ``outputs`` (wide blocks solved on the output grid by
    :meth:`~NormalFactors.solve_outputs`, which needs ``G`` alone). Raises
    :class:`~deconv_gui.core.solvers.SolveCancelled` between pieces when ``cancel`` says so.

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import ConvOperator
    >>> from deconv_gui.core.solvers.periodic import polyphase_blocks
    >>> w = np.random.default_rng(0).standard_normal((3, 3, 2, 3))
    >>> op = ConvOperator.from_weights(w, input_shape=(6, 4, 2), stride=(2, 1), padding=1,
    ...                                padding_mode="circular")
    >>> factors = normal_factors(BlockRows(op, by_phase=True), 4, 0.0, 1e-15, True, None)
    >>> per_frequency = factors.rows().transpose(1, 3, 2, 4, 5, 0).reshape(3, 3, 4, 3)
    >>> bool(np.allclose(per_frequency, np.linalg.pinv(polyphase_blocks(op)))), factors.rank
    (True, 36)
    """
    c_out, sh, n_w, sw, c_in = blocks.shape
    n, h_out = sh * sw * c_in, len(blocks.along_h)
    k = min(c_out, n)
    size = h_out * n_w  # every entry is written
    # a solve through M refines where tr(G⁻¹) (made for L⁻¹) is large; one on the outputs
    # refines through A itself (polyphase.py) or where a bound on tr(G⁻¹) is large
    exact = refine and not outputs
    factor = np.empty((size, k, k) if exact else (k * (k + 1) // 2, size), complex)
    factors = NormalFactors(blocks, reg, factor, exact, outputs)
    bound = factors.abs_norm * (1 + 1e-12)
    step = factors.step()
    starts = range(0, h_out, step)
    lag_gram, scratch = LagGram(blocks), _Scratch()
    done: list[tuple[int, dict[str, Any]]] = []
    none = np.zeros((0, c_out, n), complex)  # no blocks

    def factorise(first: int, last: int) -> None:
        for start in starts[first:last]:
            if is_cancelled(cancel):
                raise SolveCancelled("the per-frequency factorisation was cancelled")
            stop = min(start + step, h_out)
            made = None if outputs else _made(factors.blocks(start, stop))
            at = slice(start * n_w, stop * n_w)
            out = factor[at] if exact else factor[:, at]
            shape = (lag_gram.k, lag_gram.k, (stop - start) * n_w)
            gram = lag_gram(start, stop, scratch.buffer("gram", shape))
            low = scratch.buffer("low", shape)
            piece = _factor_piece(made, reg, cutoff * bound, out, exact, gram, refine, low)
            factors.refine[at] = piece["needed"]
            unsafe = ~piece["safe"]  # their blocks, for the SVD
            m = made[0] if made else factors.blocks(start, stop) if unsafe.any() else none
            piece["blocks"] = m[unsafe] if len(m) else none
            if each is not None:
                each(factors, start, stop, made)
            done.append((start, piece))

    # the pieces handed to the shared pool's threads as they come free (numpy and
    # one-thread BLAS release the GIL), so a core that another program takes delays
    # the factorisation by one piece at most
    threads.share_items(factorise, len(starts))
    pieces = sorted(done, key=lambda piece: piece[0])
    weight = mirror_weight(n_w, w_out)
    factors.rank, fallback = svd_fall_back(blocks, weight, pieces, (reg, cutoff), cancel)
    if fallback is not None:
        factors.fallback_at, factors.fallback_rows = fallback
    return factors


class _Scratch(threading.local):
    """One thread's buffers for its pieces, reused from piece to piece: a few MB of fresh
    memory for every piece cost more to fault in than the piece's arithmetic (a third of
    the CPU time of a 1 MP factorisation, measured)."""

    def buffer(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A complex array of ``shape``, zeros when made, as the last piece left it after."""
        kept = self.__dict__.get(name)
        if kept is None or kept.shape != shape:
            kept = self.__dict__[name] = np.zeros(shape, complex)
        return kept


def _made(m: np.ndarray) -> Made:  # the blocks and their adjoints
    return m, np.conjugate(m).swapaxes(1, 2)


def _factor_piece(
    made: Made | None,
    reg: float,
    floor: float,
    out: np.ndarray,
    exact: bool,
    gram: np.ndarray | None = None,
    refine: bool | None = None,
    low: np.ndarray | None = None,
) -> dict[str, Any]:
    """The factor of ``G_reg`` of the blocks ``m`` ``(f, C_out, n)`` (``made``: ``m`` and
    ``m^*``) into ``out`` (meaningless where not safe), and what the fallback needs: which
    frequencies are safe, bounds on their largest singular value, and where the solve
    needs a step of refinement. ``exact`` (refined where ``‖G‖_F tr(G⁻¹)`` is large, which
    takes ``tr(G⁻¹)`` itself): ``L⁻¹`` ``(f, k, k)``, else ``L`` packed (``tr(G⁻¹)``
    bounded, made where the bound proves nothing). ``gram``: the lower triangle of ``G``
    ``(k, k, f)`` when made (:class:`~deconv_gui.core.solvers.polyphase_gram.LagGram`;
    overwritten; ``made`` may then be None). ``refine`` (default ``exact``): mark where
    ``G`` needs refinement (by the bound without ``exact``: some more). ``low``: where to
    make ``L`` (:func:`~deconv_gui.core.solvers.batched_cholesky.cholesky`'s ``out``)."""
    if gram is None:
        assert made is not None
        m, adjoint = made
        t, t_adjoint = (adjoint, m) if m.shape[1] <= m.shape[2] else (m, adjoint)
        gram = np.ascontiguousarray((t_adjoint @ t).transpose(1, 2, 0))  # (k, k, f)
    k = len(gram)
    diagonal = gram[np.arange(k), np.arange(k)].real
    trace = diagonal.sum(axis=0)
    largest = np.maximum(trace / k, diagonal.max(axis=0))  # ≤ σ_max²
    # ‖G‖₂ ≤ ‖G‖_F ≤ tr(G), from the lower triangle (G is Hermitian)
    below = sum(sum_of_squares(gram[i, :i]) for i in range(1, k))
    frobenius = np.sqrt(2 * below + np.einsum("if,if->f", diagonal, diagonal))
    if reg > 0:  # G_reg factorised once: the bounds on tr(G⁻¹) come from tr(G_reg⁻¹)
        gram[np.arange(k), np.arange(k)] += reg
    low, ok = cholesky(gram, low)
    regularised = inverse_trace(low, out) if exact else inverse_trace_bound(low)
    regularised[~ok] = np.inf
    if not exact:
        pack_lower(low, out)

    def safe_at(trace_inverse: np.ndarray) -> np.ndarray:  # tr(G⁻¹) or a bound above it
        with np.errstate(divide="ignore", invalid="ignore"):
            smallest = 1.0 / trace_inverse  # ≤ σ_min²
        fine = (frobenius * trace_inverse <= _KAPPA_LIMIT) & (smallest > (_MARGIN * floor) ** 2)
        return np.isfinite(trace_inverse) & fine & (floor > 0)

    trace_inverse = regularised
    if reg > 0 or not exact:  # bounds: tr(G⁻¹) itself where they prove nothing
        trace_inverse = trace_where_unsure(gram, diagonal, regularised, ok, reg, safe_at)
    safe = safe_at(trace_inverse)
    kappa = (frobenius + np.sqrt(k) * reg) * regularised
    return {
        "safe": safe,
        "needed": safe & (kappa > _REFINE_ABOVE) & (exact if refine is None else refine),
        "lower": float(np.sqrt(largest[safe].max())) if safe.any() else 0.0,
        "upper": float(np.sqrt(trace[safe].max())) if safe.any() else 0.0,
        "trace": trace,
    }
