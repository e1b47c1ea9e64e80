"""The per-frequency pseudo-inverse ``M(ω)^+`` of a periodic layer, factorised once and kept.

:func:`layer_factors` returns an object whose ``apply(ŷ)`` is ``M(ω)^+ ŷ(ω)`` at every
output frequency, laid out as the image's spectrum ``(…, H', s_h, W'', s_w, C_in)``
(:mod:`~deconv_gui.core.solvers.polyphase` transforms it back). It depends on the weights,
the geometry, ``reg`` and the cut only, so the last few are kept (:data:`FACTOR_CACHE_SIZE`):
another image through the same layer costs the transforms alone.

* Rows with disjoint supports (one output channel; or one per group, as in a depthwise
  layer): each row inverted alone (:mod:`~deconv_gui.core.solvers.polyphase_rows`).
* Output channels that share input channels: the normal equations of each block,
  factorised over all frequencies at once (in float64, a cancel check between pieces),
  the SVD only where a block is rank-deficient or ill-conditioned
  (:mod:`~deconv_gui.core.solvers.polyphase_normal`); stored as the Cholesky factor of
  each block's Gram matrix (its inverse for a float64 solve of tall blocks), solved for
  each spectrum (a first solve factorises and solves in one pass; wide blocks are solved
  after it, on the output grid, :class:`OutputSolution`); from the second solve on,
  ``M(ω)^+`` itself instead where it fits :data:`_CACHE_ENTRY_LIMIT`.

The norms and singular values are computed in float64 whatever the data; the stored
factors are in the precision of the solve (complex64 for float32 data).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import threads
from .._cache import LRUCache
from ..operator import ConvOperator
from .base import CancelCheck
from .periodic import BlockRows, block_bytes, reduce_outputs
from .polyphase_normal import NormalFactors, normal_factors
from .polyphase_rows import RowFactors, factorise_rows
from .polyphase_spectra import (
    OutputSolution,
    OutputSolve,
    SpectrumSolve,
    apply_rows,
    each_piece,
    solve_by_factors,
)

__all__ = [
    "FACTOR_CACHE_SIZE",
    "BlockFactors",
    "OutputSolution",
    "clear_factor_cache",
    "is_factorised",
    "layer_factors",
    "solve_spectrum",
]

#: Factorised layers kept between solves (a several-row one only up to
#: :data:`_CACHE_ENTRY_LIMIT` bytes; the others are a gain per frequency and channel).
FACTOR_CACHE_SIZE = 4
_CACHE_ENTRY_LIMIT = 64 * 2**20  # four of them: 256 MiB at most
#: One several-row layer larger than that is kept apart, up to this size: a live study
#: of a 1 MP image solves the same layer again whenever only y changes (another image,
#: the bias, a new target), and the factors of 3 -> 8 channels (stride 1 or 2) or of
#: 3 -> 3 in float64 at stride 2 are 75-200 MB: recomputed, every solve cost the
#: factorisation again (25-30 forward+adjoint pairs instead of 3-5).
_LARGE_ENTRY_LIMIT = 256 * 2**20


class BlockFactors:
    """``M(ω)^+`` of several-row blocks: their normal equations factorised
    (:class:`~deconv_gui.core.solvers.polyphase_normal.NormalFactors`) and solved for each
    spectrum; with ``mixing`` ``V`` ``(C_out, r)`` (linearly dependent outputs), those of
    ``Vᵀ M`` (``r`` rows), applied to ``Vᵀ ŷ``.

    Solving costs a few times the product with a stored ``M(ω)^+``, but the factors are
    ``k²`` numbers per frequency instead of ``C_out s_h s_w C_in`` and take a fraction of
    the time to make: a first solve makes them and solves once. From the next solve on,
    ``M(ω)^+`` itself is kept beside them where it fits :data:`_CACHE_ENTRY_LIMIT` (in the
    precision of the solve) and applied by multiply-adds.
    """

    def __init__(self, normal: NormalFactors, mixing: np.ndarray | None = None) -> None:
        self.rank, self.mixing, self.shape = normal.rank, mixing, normal.shape
        # the factors until M(ω)^+ is kept (then dropped: an entry keeps one or the other);
        # read before `kept`, which is set first, so a thread sees one of them at least
        self.normal: NormalFactors | None = normal
        self.kept: np.ndarray | None = None

    @property
    def rows(self) -> np.ndarray:
        """``M(ω)^+`` (or ``(Vᵀ M)^+``) as ``(C_out, H', s_h, W'', s_w, C_in)``."""
        normal, kept = self.normal, self.kept
        if kept is not None:
            return kept
        assert normal is not None
        return normal.rows()

    @property
    def refines(self) -> bool:
        """Whether a complex128 solve needs its step of refinement at some frequency
        (``‖G‖_F tr(G⁻¹)`` or its bound above ``10³``; True once only ``M(ω)^+`` is kept)."""
        normal = self.normal
        return normal is None or bool(normal.refine.any())

    @property
    def abs_norm(self) -> float:
        """``‖|A|‖₂``, the norm of the convolution by the absolute taps (of ``Vᵀ``'s
        outputs with ``mixing``), while the factors are kept."""
        normal = self.normal
        assert normal is not None
        return normal.abs_norm

    def apply(self, spectrum: np.ndarray) -> np.ndarray | OutputSolution:
        """``(…, H', W'', C_out)`` → ``(…, H', s_h, W'', s_w, C_in)``: by the kept
        ``M(ω)^+``, else by the factors, computed in complex128 (their rounding is
        ``ε κ(G)``); wide blocks not kept: :meth:`solve_outputs`."""
        normal, kept = self.normal, self.kept
        c_out, sh, n_w, sw, c_in = self.shape
        h_out = spectrum.shape[-3]
        fits = c_out * sh * n_w * sw * c_in * h_out * spectrum.itemsize <= _CACHE_ENTRY_LIMIT
        if kept is None and not fits and normal is not None and normal.outputs:
            return self.solve_outputs(spectrum)
        if self.mixing is not None:
            spectrum = spectrum @ self.mixing.astype(spectrum.real.dtype)
        if kept is None and fits:
            assert normal is not None  # M(ω)^+ is the solve of unit spectra: solved with ŷ
            flat = spectrum.reshape(-1, h_out, n_w, c_out)
            units = np.broadcast_to(
                np.eye(c_out, dtype=spectrum.dtype)[:, None, None], (c_out, *flat.shape[1:])
            )
            solved = solve_by_factors(normal, np.concatenate([units, flat]))
            self.kept, self.normal = solved[:c_out], None
            return solved[c_out:].reshape(*spectrum.shape[:-3], *solved.shape[1:])
        if kept is None:
            assert normal is not None
            return solve_by_factors(normal, spectrum)
        return apply_rows(kept, spectrum)

    def solve_outputs(self, spectrum: np.ndarray) -> OutputSolution:
        """:class:`OutputSolution` of wide blocks (``u = V G_reg⁻¹ Vᵀ ŷ``, ``V = I``
        without ``mixing``, whose image is ``Aᵀ`` of its inverse transform)."""
        normal = self.normal
        assert normal is not None and normal.outputs
        solve = OutputSolve(self.mixing)
        each_piece(normal, spectrum, solve)
        solve.fallback(normal)
        return solve.result()


_FACTORS: LRUCache[RowFactors | BlockFactors] = LRUCache(maxsize=FACTOR_CACHE_SIZE)
_LARGE_FACTORS: LRUCache[RowFactors | BlockFactors] = LRUCache(maxsize=1)


def clear_factor_cache() -> None:
    """Forget the factorised layers kept between solves."""
    _FACTORS.clear()
    _LARGE_FACTORS.clear()


def layer_factors(
    op: ConvOperator, reg: float, cutoff: float, precision: Any, cancel: CancelCheck | None
) -> RowFactors | BlockFactors:
    """``M(ω)^+`` of the periodic ``op`` (singular values at or below ``cutoff σ_max``
    dropped) for a solve in ``precision``, from the cache when it was factorised lately.

    Raises :class:`~deconv_gui.core.solvers.SolveCancelled` when ``cancel`` says so
    between two batches (nothing is kept then).
    """
    return _cached(
        op, reg, cutoff, precision, lambda: _factorise(op, reg, cutoff, precision, cancel)
    )


def solve_spectrum(
    op: ConvOperator,
    spectrum: np.ndarray | Callable[[], np.ndarray],
    reg: float,
    cutoff: float,
    cancel: CancelCheck | None,
    precision: Any = None,
) -> tuple[RowFactors | BlockFactors, np.ndarray | OutputSolution]:
    """:func:`layer_factors` and ``M(ω)^+ ŷ(ω)`` of ``spectrum`` ``(…, H', W'', C_out)``
    (complex64 or complex128, the precision of the solve) as ``(…, H', s_h, W'', s_w,
    C_in)``; for wide blocks solved by their factors, an :class:`OutputSolution`
    (:meth:`BlockFactors.solve_outputs`).

    Several-row blocks not in the cache are factorised and solved in one pass: each
    piece's blocks are made once, and the factors just computed are solved while they
    are in the processor's cache. Wide blocks, which are not made, are solved after the
    factorisation, on the output grid. ``spectrum`` may be a function that returns it
    (a transform still running: asked for only once the factorisation needs it), with
    ``precision`` its dtype's type.

    Examples
    --------
    >>> import numpy as np, scipy.fft
    >>> from deconv_gui.core import ConvOperator
    >>> w = np.random.default_rng(0).standard_normal((3, 3, 2, 3))
    >>> op = ConvOperator.from_weights(w, input_shape=(8, 6, 2), stride=2, padding=1,
    ...                                padding_mode="circular")
    >>> y = op.apply(np.random.default_rng(1).standard_normal((8, 6, 2)))
    >>> spectrum = scipy.fft.rfft2(y, axes=(0, 1))
    >>> factors, solved = solve_spectrum(op, spectrum, 0.0, 1e-15, None)
    >>> solved.u.shape  # u (H', W'', C_out): 3 x 8 blocks are wide
    (4, 2, 3)
    """
    fresh: list[np.ndarray | OutputSolution] = []
    if isinstance(spectrum, np.ndarray):
        precision, given = spectrum.dtype.type, spectrum
        spectrum = lambda: given  # noqa: E731

    def compute() -> RowFactors | BlockFactors:
        return _factorise(op, reg, cutoff, precision, cancel, (spectrum, fresh))

    factors = _cached(op, reg, cutoff, precision, compute)
    return factors, fresh[0] if fresh else factors.apply(spectrum())


def is_factorised(op: ConvOperator, reg: float, cutoff: float, precision: Any) -> bool:
    """Whether :func:`layer_factors` of these arguments would come from the cache."""
    place = _place(op, reg, cutoff, precision)
    return place is not None and place[1] in place[0]


def _cached(
    op: ConvOperator,
    reg: float,
    cutoff: float,
    precision: Any,
    compute: Callable[[], RowFactors | BlockFactors],
) -> RowFactors | BlockFactors:
    """``compute()`` of a layer, or its result kept from a recent call."""
    place = _place(op, reg, cutoff, precision)
    return compute() if place is None else place[0].get_or_compute(place[1], compute)


def _place(
    op: ConvOperator, reg: float, cutoff: float, precision: Any
) -> tuple[LRUCache[RowFactors | BlockFactors], tuple[Any, ...]] | None:
    """The cache that keeps a layer's factors and their key there (None: too large)."""
    several = op.geometry.output_shape[2] > 1
    size = block_bytes(op.geometry) // (2 if precision == np.complex64 else 1)
    if several and size > _LARGE_ENTRY_LIMIT:
        return None
    cache = _LARGE_FACTORS if several and size > _CACHE_ENTRY_LIMIT else _FACTORS
    w = np.ascontiguousarray(op.weights)
    digest = hashlib.blake2b(w.tobytes(), digest_size=20).hexdigest()
    return cache, (op.geometry, w.dtype.str, w.shape, digest, reg, cutoff, np.dtype(precision).str)


def _factorise(
    op: ConvOperator,
    reg: float,
    cutoff: float,
    precision: Any,
    cancel: CancelCheck | None,
    solve: tuple[Callable[[], np.ndarray], list[np.ndarray | OutputSolution]] | None = None,
) -> RowFactors | BlockFactors:
    """The factors of ``op``; with ``solve`` ``(spectrum, into)``, several-row blocks
    also solve ``spectrum`` on the way, appended to ``into``."""
    with threads.one_blas_thread():
        blocks = BlockRows(op, by_phase=True)
        if blocks.owner is not None:
            return factorise_rows(op, blocks, reg, cutoff, precision, cancel)
        w_out = op.geometry.output_shape[1]
        reduced = reduce_outputs(blocks, w_out, cutoff)
        blocks, mixing = (blocks, None) if reduced is None else reduced
        refine = precision == np.complex128
        # on the output grid where that saves making M(ω) (C_out n numbers) at every
        # frequency: wide blocks of all the outputs (V Vᵀ of few rows would make Aᵀ work on
        # all of them; square ones are as cheap to make as to transform back)
        n = blocks.shape[1] * blocks.shape[3] * blocks.shape[4]
        outputs = mixing is None and blocks.shape[0] < n
        if solve is None or outputs:
            normal = normal_factors(blocks, w_out, reg, cutoff, refine, cancel, None, outputs)
            factors = BlockFactors(normal, mixing)
            if solve is not None:
                # after the factorisation, in pieces of thousands of frequencies: solved
                # piece by piece as it is factorised (a few hundred frequencies, what the
                # factorisation's products fit), the many short numpy calls of the
                # substitutions cost more than reading the factors again
                solve[1].append(factors.solve_outputs(solve[0]()))
            return factors
        into = OutputSolve() if outputs else SpectrumSolve(blocks.shape, mixing)
        into.start(solve[0]())
        normal = normal_factors(blocks, w_out, reg, cutoff, refine, cancel, into, outputs)
        into.fallback(normal)
        solve[1].append(into.result())
        return BlockFactors(normal, mixing)
