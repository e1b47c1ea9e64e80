"""The per-frequency pseudo-inverse ``M(ω)^+`` of a periodic layer, factorised once and kept.

:func:`layer_factors` returns an object whose ``apply(ŷ)`` is ``M(ω)^+ ŷ(ω)`` at every
output frequency, laid out as the image's spectrum ``(…, H', s_h, W'', s_w, C_in)``
(:mod:`~deconv_gui.core.solvers.polyphase` transforms it back). It depends on the weights,
the geometry, ``reg`` and the cut only, so the last few are kept (:data:`FACTOR_CACHE_SIZE`):
another image through the same layer costs the transforms alone.

* Rows with disjoint supports (one output channel; or one per group, as in a depthwise
  layer; told apart by the impulse responses, :attr:`~BlockRows.owner`): each row ``m``
  is inverted alone, ``m^*/‖m‖²`` (Tikhonov ``m^*/(‖m‖² + reg)``), and its singular value
  is ``‖m‖``. Only the gains ``1/‖m(ω)‖²`` are stored; the rows are made again, a few
  frequency rows at a time, by one small matrix product each
  (:class:`~deconv_gui.core.solvers.periodic.BlockRows`), which costs less than reading
  them back from memory.
* Output channels that share input channels: a batched SVD of the blocks (in float64, a
  cancel check between batches), stored as the full ``M(ω)^+``.

The norms and singular values are computed in float64 whatever the data; the stored
factors are in the precision of the solve (complex64 for float32 data).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from .. import lapack, threads
from .._cache import LRUCache
from ..operator import ConvOperator
from .base import CancelCheck, SolveCancelled, is_cancelled
from .periodic import BlockRows, block_bytes, mirror_weight, polyphase_blocks

__all__ = ["FACTOR_CACHE_SIZE", "clear_factor_cache", "layer_factors"]

#: Factorised layers kept between solves (an SVD-factorised one only up to
#: :data:`_CACHE_ENTRY_LIMIT` bytes; the others are a gain per frequency and channel).
FACTOR_CACHE_SIZE = 4
_CACHE_ENTRY_LIMIT = 64 * 2**20  # four of them: 256 MiB at most
#: Frequencies per batched SVD: the cancel check runs between batches.
_SVD_BATCH = 8192
#: Up to this many output channels the factors are applied channel by channel (a few
#: vectorised multiply-adds); more go through one einsum.
_LOOP_CHANNELS = 4
#: Bytes of blocks made at a time from their two DFT factors.
_CHUNK_BYTES = 2**21


class RowFactors:
    """``M(ω)^+ = M(ω)^* diag(gain(ω))`` of blocks whose rows have disjoint supports; the
    rows are made again on use.

    ``blocks`` makes each column's one entry (its :attr:`~BlockRows.owner`'s row) divided
    by ``σ_max``, and ``gain`` ``(H', W'', C_out)`` is multiplied by it.
    """

    def __init__(self, blocks: BlockRows, gain: np.ndarray, owner: np.ndarray, rank: int):
        self.blocks, self.gain, self.owner, self.rank = blocks, gain, owner, rank

    def apply(self, spectrum: np.ndarray) -> np.ndarray:
        """``(…, H', W'', C_out)`` → ``(…, H', s_h, W'', s_w, C_in)``, in ``spectrum``'s dtype."""
        scaled = spectrum * self.gain.astype(spectrum.real.dtype)
        if (self.owner == self.owner[0]).all():  # one output channel: no gather
            scaled = scaled[..., self.owner[:1]]
        else:
            scaled = scaled[..., self.owner]  # each input channel's output channel
        sh, n_w, sw, c_in = self.blocks.shape
        h_out = self.gain.shape[0]
        out = np.empty((*scaled.shape[:-3], h_out, sh, n_w, sw, c_in), spectrum.dtype)
        step = _rows_per_chunk(self.blocks)
        with _one_blas_thread():
            for start in range(0, h_out, step):
                part = self.blocks(start, start + step)  # (k, s_h, W'', s_w, C_in)
                np.conjugate(part, out=part)
                gains = scaled[..., start : start + step, None, :, None, :]
                np.multiply(part, gains, out=out[..., start : start + step, :, :, :, :])
        return out


class SVDFactors:
    """``M(ω)^+`` of several-row blocks, stored as ``(C_out, H', s_h, W'', s_w, C_in)``."""

    def __init__(self, rows: np.ndarray, rank: int) -> None:
        self.rows, self.rank = rows, rank

    def apply(self, spectrum: np.ndarray) -> np.ndarray:
        """``(…, H', W'', C_out)`` → ``(…, H', s_h, W'', s_w, C_in)``."""
        rows = self.rows
        if rows.shape[0] > _LOOP_CHANNELS:
            return np.einsum("ohaWbc,...hWo->...haWbc", rows, spectrum)
        solved = rows[0] * spectrum[..., :, None, :, None, None, 0]
        for o in range(1, rows.shape[0]):
            solved += rows[o] * spectrum[..., :, None, :, None, None, o]
        return solved


_FACTORS: LRUCache[RowFactors | SVDFactors] = LRUCache(maxsize=FACTOR_CACHE_SIZE)


def clear_factor_cache() -> None:
    """Forget the factorised layers kept between solves."""
    _FACTORS.clear()


def layer_factors(
    op: ConvOperator, reg: float, cutoff: float, precision: Any, cancel: CancelCheck | None
) -> RowFactors | SVDFactors:
    """``M(ω)^+`` of the periodic ``op`` (singular values at or below ``cutoff σ_max``
    dropped) for a solve in ``precision``, from the cache when it was factorised lately.

    Raises :class:`~deconv_gui.core.solvers.SolveCancelled` when ``cancel`` says so
    between two batches (nothing is kept then).
    """

    def compute() -> RowFactors | SVDFactors:
        with _one_blas_thread():
            blocks = BlockRows(op, by_phase=True)
            if blocks.owner is not None:
                return _factorise_rows(op, blocks, reg, cutoff, precision, cancel)
            return _factorise(op, reg, cutoff, precision, cancel)

    several = op.geometry.output_shape[2] > 1
    size = block_bytes(op.geometry) // (2 if precision == np.complex64 else 1)
    if several and size > _CACHE_ENTRY_LIMIT:
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
    with lapack.LAPACK_LOCK, _controller().limit(limits=1, user_api="blas"):
        yield


@functools.cache
def _controller() -> ThreadpoolController:
    """The BLAS libraries, looked up once (``threadpool_limits`` looks them up on every
    call: 1 ms, a tenth of a forward+adjoint pair at stride 2)."""
    return ThreadpoolController()


def _rows_per_chunk(blocks: BlockRows) -> int:
    return max(1, _CHUNK_BYTES // (16 * int(np.prod(blocks.shape))))


def _factorise_rows(
    op: ConvOperator,
    blocks: BlockRows,
    reg: float,
    cutoff: float,
    precision: Any,
    cancel: CancelCheck | None,
) -> RowFactors:
    """The gains ``1/(‖m_o(ω)‖² + reg)`` of rows with disjoint supports (0 where cut)."""
    owner = blocks.owner
    assert owner is not None
    owned = blocks.owned()
    c_out, h_out = op.geometry.output_shape[2], op.geometry.output_shape[0]
    _, n_w, _, c_in = owned.shape
    single = bool((owner == owner[0]).all())  # one output channel: one sum per column
    energy = np.zeros((h_out, n_w, c_out))
    step = _rows_per_chunk(owned)
    for start in range(0, h_out, step):
        if start and is_cancelled(cancel):
            raise SolveCancelled("the per-frequency factorisation was cancelled")
        part = owned(start, start + step)  # (k, s_h, W'', s_w, C_in), contiguous
        parts = part.view(np.float64)  # real and imaginary parts interleaved
        if single:
            energy[start : start + step, :, owner[0]] = np.einsum("kalbc,kalbc->kl", parts, parts)
        else:  # a row's squared norm: the columns it owns
            squares = np.square(parts).sum(axis=1).sum(axis=2)  # (k, W'', 2 C_in)
            per_channel = squares.reshape(*squares.shape[:2], c_in, 2).sum(axis=-1)
            energy[start : start + step] = per_channel @ (owner[:, None] == np.arange(c_out))
    sigma = np.sqrt(energy)
    top = float(sigma.max()) if sigma.size else 0.0
    keep = sigma > cutoff * top if top > 0 else np.zeros(sigma.shape, bool)
    # rows m / σ_max and gains σ_max / (‖m‖² + reg): both within a few decades of 1 for
    # any scale of the weights (complex64 has only ±1e38)
    gain = np.where(keep, top / np.where(keep, energy + reg, 1.0), 0.0)
    if top > 0:
        owned.along_w /= top
    return RowFactors(owned.astype(precision), gain, owner, _rank(keep, op))


def _factorise(
    op: ConvOperator, reg: float, cutoff: float, precision: Any, cancel: CancelCheck | None
) -> SVDFactors:
    """``V diag(σ / (σ² + reg)) Uᴴ`` at every frequency (transposed), and its rank."""
    u, s, vh = _batched_svd(polyphase_blocks(op), cancel)
    top = float(s.max()) if s.size else 0.0
    keep = s > cutoff * top if top > 0 else np.zeros(s.shape, bool)
    gain = np.where(keep, s / np.where(keep, s * s + reg, 1.0), 0.0)
    g = op.geometry
    (h_out, w_out, c_out), (sh, sw), c_in = g.output_shape, g.stride, g.input_shape[2]
    rows = np.einsum("...oi,...i,...ij->o...j", u.conj(), gain, vh.conj())
    rows = rows.reshape(c_out, h_out, w_out // 2 + 1, sh, sw, c_in).transpose(0, 1, 3, 2, 4, 5)
    return SVDFactors(np.ascontiguousarray(rows, precision), _rank(keep, op))


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
