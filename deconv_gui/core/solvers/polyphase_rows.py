"""``M(ω)^+`` of a periodic layer whose rows have disjoint supports, in closed form.

One output channel, or one per group (a depthwise layer; told apart by the impulse
responses, :attr:`~deconv_gui.core.solvers.periodic.BlockRows.owner`): each row ``m`` is
inverted alone, ``m^*/‖m‖²`` (Tikhonov ``m^*/(‖m‖² + reg)``), and its singular value is
``‖m‖``. Only the gains ``1/‖m(ω)‖²`` are stored; the rows are made again, a few frequency
rows at a time, by one small matrix product each, which costs less than reading them back
from memory.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import threads
from ..operator import ConvOperator
from .base import CancelCheck, SolveCancelled, is_cancelled
from .periodic import BlockRows, mirror_weight

__all__ = ["RowFactors", "factorise_rows"]

#: Bytes of rows made at a time from their two DFT factors.
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
        with threads.one_blas_thread():
            for start in range(0, h_out, step):
                part = self.blocks(start, start + step)  # (k, s_h, W'', s_w, C_in)
                np.conjugate(part, out=part)
                gains = scaled[..., start : start + step, None, :, None, :]
                np.multiply(part, gains, out=out[..., start : start + step, :, :, :, :])
        return out


def _rows_per_chunk(blocks: BlockRows) -> int:
    return max(1, _CHUNK_BYTES // (16 * int(np.prod(blocks.shape))))


def factorise_rows(
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


def _rank(keep: np.ndarray, op: ConvOperator) -> int:
    """The singular values kept, ``(H', W'', k)``, counted over all frequencies."""
    weight = mirror_weight(keep.shape[1], op.geometry.output_shape[1])
    return int((keep * weight[None, :, None]).sum())
