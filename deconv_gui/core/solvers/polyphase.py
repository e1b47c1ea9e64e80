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

**Cost.** The blocks are factorised in float64 (a one-row block, one output channel, in
closed form: its pseudo-inverse is ``M^*/‖M‖²``; else by a batched SVD) into the
per-frequency pseudo-inverse ``M(ω)^+``, which depends on the weights and the geometry
only: the last few are kept (:data:`FACTOR_CACHE_SIZE`), so solving another image with
the same layer costs only the transforms. These run in the precision of ``y``: float32
data is transformed in complex64 (its rounding is then that of the float32 result the
caller gets anyway).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import numpy as np
import scipy.fft
from threadpoolctl import threadpool_limits

from .. import lapack, threads
from .._cache import LRUCache
from ..operator import ConvOperator
from .base import CancelCheck, SolveCancelled, is_cancelled
from .dense import pinv_cutoff
from .periodic import (
    BLOCK_MEMORY_LIMIT,
    block_bytes,
    block_rows,
    fourier_is_possible,
    is_periodic,
    mirror_weight,
    polyphase_blocks,
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

#: Factorised layers kept between solves (each at most :data:`_CACHE_ENTRY_LIMIT` bytes).
FACTOR_CACHE_SIZE = 4
_CACHE_ENTRY_LIMIT = 128 * 2**20
#: Frequencies per batched SVD: the cancel check runs between batches.
_SVD_BATCH = 8192
#: Up to this many output channels the blocks are applied channel by channel (a few
#: vectorised multiply-adds); more go through one einsum.
_LOOP_CHANNELS = 4
#: Bytes of float64 blocks made at a time by the one-output-channel factorisation.
_CHUNK_BYTES = 2**21


class PolyphaseSolution(NamedTuple):
    """The image of :func:`polyphase_solve` and what the cut kept."""

    image: np.ndarray
    rank: int
    cutoff: float


class _Factors(NamedTuple):
    """``M(ω)^+`` as ``(C_out, H_out, s_h, W_out // 2 + 1, s_w, C_in)``, and its rank."""

    rows: np.ndarray
    rank: int


_FACTORS: LRUCache[_Factors] = LRUCache(maxsize=FACTOR_CACHE_SIZE)


def clear_factor_cache() -> None:
    """Forget the factorised layers kept between solves."""
    _FACTORS.clear()


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
    factors = _factors(op, float(reg), cutoff, precision, cancel)
    workers = threads.get_num_threads()
    spectrum = scipy.fft.rfft2(arr, axes=(-3, -2), workers=workers)
    # (…, H', s_h, W'', s_w, C_in): the inverse transform along H' and W'' leaves the
    # image itself, (…, H', s_h, W', s_w, C_in), with no interleaving copy
    rows = factors.rows
    if c_out <= _LOOP_CHANNELS:
        solved = rows[0] * spectrum[..., :, None, :, None, None, 0]
        for o in range(1, c_out):
            solved += rows[o] * spectrum[..., :, None, :, None, None, o]
    else:
        solved = np.einsum("ohaWbc,...hWo->...haWbc", rows, spectrum)
    image = scipy.fft.irfft2(
        solved, s=(h_out, w_out), axes=(-5, -3), workers=workers, overwrite_x=True
    )
    image = image.reshape(*arr.shape[:-3], h_out * sh, w_out * sw, c_in)
    return PolyphaseSolution(image, factors.rank, float(cutoff))


def _factors(
    op: ConvOperator, reg: float, cutoff: float, precision: Any, cancel: CancelCheck | None
) -> _Factors:
    """``M(ω)^+`` of ``op`` in ``precision``, from the cache when it was factorised lately."""

    def compute() -> _Factors:
        with _one_blas_thread():
            if op.geometry.output_shape[2] == 1:
                return _factorise_rows(op, reg, cutoff, precision, cancel)
            return _factorise(op, reg, cutoff, precision, cancel)

    size = block_bytes(op.geometry) // (2 if precision == np.complex64 else 1)
    if size > _CACHE_ENTRY_LIMIT:
        return compute()
    w = np.ascontiguousarray(op.weights)
    digest = hashlib.blake2b(w.tobytes(), digest_size=20).hexdigest()
    key = (op.geometry, w.dtype.str, w.shape, digest, reg, cutoff, np.dtype(precision).str)
    return _FACTORS.get_or_compute(key, compute)


@contextmanager
def _one_blas_thread() -> Iterator[None]:
    """BLAS at one thread: the products and SVDs here are many small ones, which threads
    that synchronise per call slow down (a frequency-row product took 10 ms instead of
    0.2 ms on a busy machine). Re-threading waits for any running factorisation."""
    if threads.blas_threads() <= 1:
        yield
        return
    with lapack.LAPACK_LOCK, threadpool_limits(limits=1, user_api="blas"):
        yield


def _layout(op: ConvOperator) -> tuple[int, int, int, int, int, int]:
    """``(C_out, H', s_h, W'', s_w, C_in)``: the shape the factors are stored in."""
    g = op.geometry
    h_out, w_out, c_out = g.output_shape
    return (c_out, h_out, g.stride[0], w_out // 2 + 1, g.stride[1], g.input_shape[2])


def _factorise_rows(
    op: ConvOperator, reg: float, cutoff: float, precision: Any, cancel: CancelCheck | None
) -> _Factors:
    """:func:`_factorise` of one-row blocks (one output channel), in closed form.

    The pseudo-inverse of a row ``m`` is ``m^* / ‖m‖²`` (Tikhonov: ``m^* / (‖m‖² + reg)``);
    its one singular value is ``‖m‖``. Worked through a few frequency rows at a time, so
    the float64 blocks never exist whole.
    """
    shape = _layout(op)
    _, h_out, sh, n_w, sw, c_in = shape
    rows = np.empty(shape, precision)
    energy = np.empty((h_out, n_w))
    blocks = block_rows(op, by_phase=True)
    step = max(1, _CHUNK_BYTES // (16 * n_w * sh * sw * c_in))
    for start in range(0, h_out, step):
        if start and is_cancelled(cancel):
            raise SolveCancelled("the per-frequency factorisation was cancelled")
        part = blocks(start, start + step)[:, 0]  # (k, s_h, W'', s_w, C_in), contiguous
        parts = part.view(np.float64)  # real and imaginary parts interleaved
        chunk = energy[start : start + step] = np.einsum("kalbc,kalbc->kl", parts, parts)
        with np.errstate(divide="ignore"):
            factor = np.where(chunk > 0, 1.0 / (chunk + reg), 0.0)
        target = rows[0, start : start + step]
        np.multiply(part, factor[:, None, :, None, None], out=target, casting="same_kind")
        np.conjugate(target, out=target)
    sigma = np.sqrt(energy)
    top = float(sigma.max()) if sigma.size else 0.0
    keep = sigma > cutoff * top if top > 0 else np.zeros(sigma.shape, bool)
    if not keep.all():
        rows[0].transpose(0, 2, 1, 3, 4)[~keep] = 0
    return _Factors(rows, _rank(keep[..., None], op))


def _factorise(
    op: ConvOperator, reg: float, cutoff: float, precision: Any, cancel: CancelCheck | None
) -> _Factors:
    """``V diag(σ / (σ² + reg)) Uᴴ`` at every frequency (transposed), and its rank.

    Singular values at or below ``cutoff σ_max`` count as zero.
    """
    u, s, vh = _batched_svd(polyphase_blocks(op), cancel)
    top = float(s.max()) if s.size else 0.0
    keep = s > cutoff * top if top > 0 else np.zeros(s.shape, bool)
    gain = np.where(keep, s / np.where(keep, s * s + reg, 1.0), 0.0)
    c_out, h_out, sh, n_w, sw, c_in = _layout(op)
    rows = np.einsum("...oi,...i,...ij->o...j", u.conj(), gain, vh.conj())
    rows = rows.reshape(c_out, h_out, n_w, sh, sw, c_in).transpose(0, 1, 3, 2, 4, 5)
    return _Factors(np.ascontiguousarray(rows, precision), _rank(keep, op))


def _rank(keep: np.ndarray, op: ConvOperator) -> int:
    """The singular values kept, ``(H', W'', k)``, counted over all frequencies."""
    weight = mirror_weight(keep.shape[1], op.geometry.output_shape[1])
    return int((keep * weight[None, :, None]).sum())


def _batched_svd(
    blocks: np.ndarray, cancel: CancelCheck | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The thin SVD of every block, in batches of frequencies with a cancel check between."""
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
