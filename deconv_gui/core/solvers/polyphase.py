"""The exact pseudo-inverse of a periodic strided convolution, one small block per frequency.

Notes
-----
A periodic layer (:func:`~deconv_gui.core.solvers.periodic.is_periodic`) is
block-diagonal in Fourier space: with the image split into its ``s_h s_w`` polyphase
components and the DFT taken on the output grid,

.. math:: \\hat y(ω) = M(ω)\\, \\hat x_{poly}(ω), \\qquad
          M(ω) \\in \\mathbb{C}^{C_{out} \\times s_h s_w C_{in}}

(:func:`~deconv_gui.core.solvers.periodic.polyphase_blocks`). The polyphase split is a
permutation and the DFT is unitary up to a factor that cancels, so
``A = U* M U P`` with unitary ``U`` and a permutation ``P``: the singular values of ``A``
are those of all the blocks together, and

.. math:: A^+ y = P^T\\, \\mathrm{DFT}^{-1}\\big[M(ω)^+ \\hat y(ω)\\big],

exact to rounding (Tikhonov likewise, with ``(M^*M + reg)^{-1} M^*`` per block). This is
the closed form that aliasing gives: each output frequency mixes the ``s_h s_w`` input
frequencies that fold onto it (and every input channel), and nothing else.

**Cost.** The per-frequency pseudo-inverse ``M(ω)^+`` depends on the weights and the
geometry only: :mod:`~deconv_gui.core.solvers.polyphase_factors` computes it (one output
channel, or one per group, in closed form, ``M^*/‖M‖²``; else through the normal
equations of each block, vectorised over the frequencies, and by an SVD only where a block
is rank-deficient or ill-conditioned) and keeps the last few
(:data:`FACTOR_CACHE_SIZE`), so solving another image with the same layer costs one FFT
of ``y`` and one of the image. Wide blocks (``C_out ≤ s_h s_w C_in``) solved through
their normal equations give ``u = (M M^*)^{-1} ŷ`` on the output grid instead, and
``A^+ y = Aᵀ u``: one FFT of ``u`` back and one adjoint convolution, with no ``M(ω)^*``
made per frequency (float64: one Newton step through ``A``). These run in the precision
of ``y``: float32 data is transformed in complex64 (its rounding is then that of the
float32 result the caller gets anyway). The image is transformed back in the memory of its spectrum.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import scipy.fft

from .. import lapack, threads
from ..geometry import ConvGeometry
from ..operator import ConvOperator
from .base import CancelCheck
from .dense import pinv_cutoff
from .periodic import (
    BLOCK_MEMORY_LIMIT,
    block_bytes,
    fourier_is_possible,
    is_periodic,
    mirror_weight,
    polyphase_blocks,
)
from .polyphase_factors import (
    FACTOR_CACHE_SIZE,
    BlockFactors,
    OutputSolution,
    clear_factor_cache,
    is_factorised,
    solve_spectrum,
)

__all__ = [
    "FACTOR_CACHE_SIZE",
    "PolyphaseSolution",
    "clear_factor_cache",
    "fourier_is_possible",
    "is_periodic",
    "polyphase_blocks",
    "polyphase_singular_values",
    "polyphase_solve",
]

#: Bytes of the image's spectrum transformed back at a time (along its rows).
_CHUNK_BYTES = 2**21


class PolyphaseSolution(NamedTuple):
    """The image of :func:`polyphase_solve` and what the cut kept."""

    image: np.ndarray
    rank: int
    cutoff: float


def polyphase_singular_values(op: ConvOperator) -> np.ndarray:
    """All singular values of ``A`` (descending), from the blocks; each counted once.

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import ConvOperator
    >>> w = np.random.default_rng(1).random((3, 3, 2, 3))
    >>> op = ConvOperator.from_weights(w, input_shape=(6, 4, 2), stride=2, padding=1,
    ...                                padding_mode="circular")
    >>> s = polyphase_singular_values(op)
    >>> bool(np.allclose(s, np.linalg.svd(op.to_dense(), compute_uv=False)))
    True
    """
    blocks = polyphase_blocks(op)
    values = lapack.svd(blocks, compute_uv=False)
    weight = mirror_weight(blocks.shape[1], op.geometry.output_shape[1])
    counted = np.repeat(values.reshape(-1, values.shape[-1]), np.tile(weight, blocks.shape[0]), 0)
    return np.sort(counted.ravel())[::-1]


def polyphase_solve(
    op: ConvOperator,
    y: Any,
    *,
    reg: float = 0.0,
    rtol: float = 0.0,
    dtype: Any = np.float64,
    cancel: CancelCheck | None = None,
) -> PolyphaseSolution:
    """``A⁺ y`` (or Tikhonov ``(AᵀA + reg I)⁻¹ Aᵀ y``) of a periodic operator, in closed form.

    Parameters
    ----------
    op : ConvOperator
        A periodic operator (:func:`is_periodic`).
    y : array_like
        ``(H_out, W_out, C_out)`` or a batch ``(m, H_out, W_out, C_out)``, bias removed.
        float32 data is transformed in complex64, anything else in complex128.
    reg : float
        Tikhonov weight (>= 0).
    rtol : float
        Singular values below ``max(ε max(C_out, s² C_in), rtol) σ_max`` count as zero
        (:func:`~deconv_gui.core.solvers.dense.pinv_cutoff` of one block); with
        ``reg > 0`` only the precision cut applies.
    dtype : numpy dtype
        The coarsest dtype of the data, for the precision cut (``ε`` times the larger
        side of a block: each block is factorised on its own, to that accuracy).
    cancel : callable or threading.Event, optional
        Checked between batches of the factorisation (several output channels);
        raises :class:`~deconv_gui.core.solvers.SolveCancelled`.

    Returns
    -------
    PolyphaseSolution
        ``image`` (``(H, W, C_in)`` or batched) in float32 for float32 ``y``, else
        float64; ``rank`` and the ``cutoff``.

    Raises
    ------
    ValueError
        When ``op`` is not periodic, the blocks would exceed
        :data:`~deconv_gui.core.solvers.periodic.BLOCK_MEMORY_LIMIT`, ``reg`` is
        negative or ``y`` has the wrong shape.

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import ConvOperator
    >>> w = np.random.default_rng(0).random((3, 3, 3))
    >>> op = ConvOperator.from_weights(w, input_shape=(8, 6, 3), stride=2, padding=1,
    ...                                padding_mode="circular")
    >>> y = op.apply(np.random.default_rng(1).random((8, 6, 3)))
    >>> x = polyphase_solve(op, y).image
    >>> bool(np.allclose(x.ravel(), np.linalg.pinv(op.to_dense()) @ y.ravel()))
    True
    """
    geometry = op.geometry
    if not (np.isfinite(reg) and reg >= 0):
        raise ValueError(f"reg must be a finite number >= 0, got {reg!r}")
    if block_bytes(geometry) > BLOCK_MEMORY_LIMIT:
        raise ValueError(
            f"op is too large for the per-frequency solve ({block_bytes(geometry) / 2**20:.0f} "
            f"MiB of blocks, limit {BLOCK_MEMORY_LIMIT / 2**20:.0f} MiB)"
        )
    arr = np.asarray(y)
    if arr.dtype != np.float32:
        arr = arr.astype(np.float64, copy=False)
    h_out, w_out, c_out = geometry.output_shape
    if arr.shape[-3:] != (h_out, w_out, c_out) or arr.ndim not in (3, 4):
        raise ValueError(f"y must have shape {geometry.output_shape} or (m, ...), got {arr.shape}")
    if not is_periodic(geometry):
        polyphase_blocks(op)  # raises, naming op
    (sh, sw), c_in = geometry.stride, geometry.input_shape[2]
    cutoff = pinv_cutoff((c_out, sh * sw * c_in), dtype, rtol if reg == 0 else 0.0)
    precision = np.complex64 if arr.dtype == np.float32 else np.complex128
    workers = threads.get_num_threads()
    if is_factorised(op, float(reg), cutoff, precision):
        spectrum = scipy.fft.rfft2(arr, axes=(-3, -2), workers=workers)
    else:  # transformed beside the factorisation, which holds the GIL in turns and so
        # leaves a core idle part of the time: one worker, the factorisation takes the others
        spectrum = threads.in_background(lambda: scipy.fft.rfft2(arr, axes=(-3, -2), workers=1))
    # (…, H', s_h, W'', s_w, C_in): the inverse transform along H' and W'' leaves the
    # image itself, (…, H', s_h, W', s_w, C_in), with no interleaving copy
    factors, solved = solve_spectrum(op, spectrum, float(reg), cutoff, cancel, precision)
    if isinstance(solved, OutputSolution):
        assert isinstance(factors, BlockFactors)
        image = _through_adjoint(op, arr, solved.u, factors, float(reg))
        if len(solved.at):  # the SVD's frequencies, transformed back alone
            image += _svd_image(solved, np.dtype(precision), geometry, arr.shape[:-3])
        return PolyphaseSolution(image, factors.rank, float(cutoff))
    image = _inverse_transform(solved, w_out)
    image = image.reshape(*arr.shape[:-3], h_out * sh, w_out * sw, c_in)
    return PolyphaseSolution(image, factors.rank, float(cutoff))


def _svd_image(
    solved: OutputSolution, dtype: np.dtype, geometry: ConvGeometry, lead: tuple[int, ...]
) -> np.ndarray:
    """The image of ``M^+ ŷ`` at the frequencies the SVD solved (0 at the others)."""
    h_out, w_out, _ = geometry.output_shape
    (sh, sw), c_in = geometry.stride, geometry.input_shape[2]
    n_w = w_out // 2 + 1
    spectrum = np.zeros((int(np.prod(lead)), h_out, sh, n_w, sw, c_in), dtype)
    h, w = np.divmod(solved.at, n_w)
    spectrum[:, h, :, w] = solved.solved.reshape(len(h), sh, sw, c_in, -1).transpose(0, 4, 1, 2, 3)
    image = _inverse_transform(spectrum, w_out)
    return image.reshape(*lead, h_out * sh, w_out * sw, c_in)


def _through_adjoint(
    op: ConvOperator, y: np.ndarray, solved: np.ndarray, factors: BlockFactors, reg: float
) -> np.ndarray:
    """``Aᵀ u`` of wide blocks' ``u = G_reg^+ ŷ`` (``solved``, complex128 on the output
    grid) in the dtype of ``y``; for float64 ``y``, one Newton step through ``A`` itself.

    ``M^+ = M^* G^+`` frequency by frequency, so ``A^+ y = Aᵀ u`` with ``u`` transformed
    back: one adjoint convolution instead of ``M^*`` made and applied at every frequency.
    Solving through ``G`` squares the condition number; the step ``u ← u + G_reg^+ r``,
    ``r = y − A Aᵀ u − reg u`` with its residual from ``A`` (to the rounding of the
    convolution), brings the error back to that of the SVD (``ε κ(M)``); it is skipped
    when no frequency needs it (:attr:`BlockFactors.refines`), and without Tikhonov when
    the residual is already at the rounding of ``A x`` (:func:`_within_rounding`: a
    correction would then be mostly rounding). The residual is
    made in float64, the step itself in float32 (a transform, the solve in complex128, a
    transform back and ``Aᵀ``): it is at most ``ε κ(G) ≤ 10^{-8}`` of the image, so
    its own rounding, ``ε_{32}`` of that, is far below ``ε``. float32 data keeps ``u``
    from complex128 factors (their rounding ``ε_{64} κ(G) ≤ 10^{-8}`` is below its own).
    ``Aᵀ`` runs in float32 where the numbers fit it.
    """
    shape, workers = op.geometry.output_shape[:2], threads.get_num_threads()

    def back(spectrum: np.ndarray, fft32: bool = False) -> np.ndarray:
        if fft32 and _fits_float32(spectrum):
            spectrum = spectrum.astype(np.complex64)
        return scipy.fft.irfft2(spectrum, s=shape, axes=(-3, -2), workers=workers)

    def adjoint(u: np.ndarray, single: bool) -> np.ndarray:
        single = single and _fits_float32(u)
        return op.apply_adjoint(u.astype(np.float32, copy=False) if single else u)

    if y.dtype == np.float32:
        return adjoint(back(solved), True).astype(np.float32, copy=False)
    u = back(solved)
    image = adjoint(u, False)
    if not factors.refines:  # κ(G) ≤ 10³ everywhere: u is as exact as the SVD would make it
        return image
    residual = op.apply(image)
    np.subtract(y, residual, out=residual)
    if reg:
        residual -= reg * u
    elif _within_rounding(op, y, image, residual, factors.abs_norm):
        return image
    del u
    single = _fits_float32(residual)
    spectrum = scipy.fft.rfft2(
        residual.astype(np.float32) if single else residual, axes=(-3, -2), workers=workers
    )
    correction = factors.solve_outputs(spectrum).u  # 0 where the SVD solved
    image += adjoint(back(correction, single), single)
    return image


def _within_rounding(
    op: ConvOperator, y: np.ndarray, image: np.ndarray, residual: np.ndarray, abs_norm: float
) -> bool:
    """Whether the residual ``r = y − A x`` of every image is as small as the rounding of
    ``A x`` itself: ``‖r‖ ≤ √n ε (‖|A|‖ ‖x‖ + ‖y‖)``, ``n`` the products summed into each
    output (``f_h f_w C_in / groups``), ``√n ε`` the usual size of their rounding.

    Then ``x`` (in the row space: ``Aᵀ u``) is the minimum-norm solution of ``A x = y − r``
    with ``r`` at the level of what evaluating ``A`` rounds anyway: a backward error of a
    backward-stable solve, as the dense pseudo-inverse's, and an error of at most
    ``‖r‖ / σ_min(A)``, of the order of ``√n ε κ(A) ‖x‖``. A Newton step driven by that
    ``r`` would correct mostly rounding. Where ``G`` squared a large ``κ(M)`` into the
    solve, ``‖r‖`` is tens of times larger and the step is taken.
    """
    taps = int(np.prod(op.weights.shape[:3]))

    def norms(a: np.ndarray) -> np.ndarray:
        return np.sqrt(np.einsum("...ijk,...ijk->...", a, a))

    limit = np.sqrt(taps) * np.finfo(np.float64).eps * (abs_norm * norms(image) + norms(y))
    return bool(np.all(norms(residual) <= limit))


def _fits_float32(values: np.ndarray) -> bool:
    """Whether every value (real and imaginary parts) is finite and below 1e30: two
    reductions, no temporary of the size of ``values`` (fresh memory, an image's worth,
    costs more to fault in than the check itself)."""
    if np.iscomplexobj(values):
        values = values.view(values.real.dtype) if values.flags.c_contiguous else np.abs(values)
    return values.size == 0 or bool(values.max() < 1e30 and values.min() > -1e30)


def _inverse_transform(solved: np.ndarray, w_out: int) -> np.ndarray:
    """``irfft2`` along ``H'`` and ``W''`` of ``(…, H', s_h, W'', s_w, C_in)``, in place.

    The inverse DFT along ``H'`` in place, then along ``W''`` a few rows at a time, each
    piece written back into the memory of the rows already read: a real row of the image
    takes ``W' ≤ 2 W''`` numbers of half the size. So the image needs no memory of its own
    (a second image-sized array is fresh memory to fault in: a fifth of a float64 solve),
    and the pieces stay in the processor's cache.
    """
    solved = scipy.fft.ifft(solved, axis=-5, workers=threads.get_num_threads(), overwrite_x=True)
    flat = solved.reshape(-1, *solved.shape[-4:])  # (… H', s_h, W'', s_w, C_in)
    real = np.float32 if solved.dtype == np.complex64 else np.float64
    shape = (flat.shape[0], flat.shape[1], w_out, *flat.shape[3:])
    out = flat.reshape(-1).view(real)[: int(np.prod(shape))].reshape(shape)
    step = max(1, _CHUNK_BYTES // max(flat[0].nbytes, 1))
    for first in range(0, flat.shape[0], step):
        last = first + step
        # rows first:last of the image end before row `last` of the spectrum starts
        out[first:last] = scipy.fft.irfft(flat[first:last], n=w_out, axis=2)
    return out
