"""Periodic layers and their per-frequency blocks ``M(ω)``.

Notes
-----
With circular padding and an output grid that tiles the input exactly
(``H_out · s_h = H`` and ``W_out · s_w = W``), shifting the image by one stride shifts
the output by one pixel: ``A`` is *block-circulant*. Split the image into its
``s_h s_w`` polyphase components ``x_{a,b}[m, n, c] = x[m s_h + a, n s_w + b, c]``; each
is convolved (circularly, on the output grid) with the response ``g_{a,b,c}`` of ``A`` to
an impulse at ``(a, b, c)``, and the results are summed. The DFT on the output grid
turns that into one small matrix per output frequency ``ω``, whose columns are the DFTs
of the impulse responses (:func:`polyphase_blocks`);
:mod:`~deconv_gui.core.solvers.polyphase` inverts them.

The responses are measured on a small periodic copy of the geometry (a few strides a
side), so no padding, flip, dilation or group convention is re-derived here: whatever
the operator computes is what is inverted. An impulse reaches only a few outputs, so
their DFT on the full output grid is a short sum per frequency (two small matrix
products), not an FFT of a mostly-zero array of the blocks' size.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import numpy as np

from .. import lapack
from ..geometry import ConvGeometry
from ..operator import ConvOperator

__all__ = [
    "BLOCK_MEMORY_LIMIT",
    "BlockRows",
    "block_bytes",
    "fourier_is_possible",
    "is_periodic",
    "mirror_weight",
    "polyphase_blocks",
    "reduce_outputs",
]

#: Bytes of complex blocks (``H_out × (W_out/2 + 1) × C_out × s² C_in``) up to which the
#: closed form is used; larger layers go to the iterative solver.
BLOCK_MEMORY_LIMIT = 512 * 2**20


def is_periodic(geometry: ConvGeometry) -> bool:
    """True when ``A`` commutes with shifts by one stride: circular padding, exact tiling.

    Examples
    --------
    >>> from deconv_gui.core import ConvGeometry
    >>> is_periodic(ConvGeometry((8, 8, 1), (3, 3, 1), 2, 1, padding_mode="circular"))
    True
    >>> is_periodic(ConvGeometry((8, 8, 1), (3, 3, 1), 2, 1))
    False
    """
    if geometry.padding_mode != "circular":
        return False
    h, w = geometry.input_shape[:2]
    h_out, w_out = geometry.output_shape[:2]
    (sh, sw) = geometry.stride
    return h_out * sh == h and w_out * sw == w


def block_bytes(geometry: ConvGeometry) -> int:
    """Bytes of the complex128 blocks of ``geometry`` (whether or not it is periodic)."""
    h_out, w_out, c_out = geometry.output_shape
    (sh, sw) = geometry.stride
    return 16 * h_out * (w_out // 2 + 1) * c_out * sh * sw * geometry.input_shape[2]


def fourier_is_possible(geometry: ConvGeometry) -> bool:
    """True when the per-frequency solve applies: periodic, and its blocks fit in memory."""
    return is_periodic(geometry) and block_bytes(geometry) <= BLOCK_MEMORY_LIMIT


def _probe_geometry(geometry: ConvGeometry) -> tuple[ConvGeometry, tuple[int, int]]:
    """A small periodic copy of ``geometry`` and its output grid ``(L_h, L_w)``.

    An impulse reaches outputs within ``R = ceil((d (f − 1) + s − 1) / s)`` of its own
    cell on either side, so ``L = 2 R + 1`` outputs a side tell every offset apart.
    """
    (fh, fw), (sh, sw), (dh, dw) = geometry.filter_shape[:2], geometry.stride, geometry.dilation
    reach = [-(-(d * (f - 1) + s - 1) // s) for f, s, d in ((fh, sh, dh), (fw, sw, dw))]
    lh, lw = (2 * r + 1 for r in reach)
    c_in = geometry.input_shape[2]
    # the four sides passed on: replace() alone rebuilds the padding from its (top, left)
    changes: dict[str, Any] = {"input_shape": (sh * lh, sw * lw, c_in), "padding": geometry.pads}
    small = dataclasses.replace(geometry, **changes)
    return small, (lh, lw)


def _phases(n_freq: int, length: int, period: int) -> np.ndarray:
    """``exp(−2πi ω u / period)`` for ``ω < n_freq`` and the signed offsets ``u`` of a
    probe of ``length`` outputs (``0, 1, …, −1``); ``ω u`` is reduced modulo the period
    in integers first, so no angle is large."""
    offsets = np.where(
        np.arange(length) <= length // 2, np.arange(length), np.arange(length) - length
    )
    turns = (np.arange(n_freq)[:, None] * offsets[None, :]) % period
    return np.exp(-2j * np.pi * turns / period)


def polyphase_blocks(op: ConvOperator) -> np.ndarray:
    """The blocks ``M(ω)`` of a periodic operator on the one-sided output frequencies.

    Parameters
    ----------
    op : ConvOperator
        A periodic operator (:func:`is_periodic`).

    Returns
    -------
    numpy.ndarray
        Complex ``(H_out, W_out // 2 + 1, C_out, s_h s_w C_in)``; column
        ``(a s_w + b) C_in + c`` belongs to the input pixel ``(a, b)`` of each stride
        cell, channel ``c``.

    Raises
    ------
    ValueError
        When ``op`` is not periodic.

    Examples
    --------
    >>> import numpy as np
    >>> op = ConvOperator.from_weights(np.ones((3, 3, 1)), input_shape=(4, 4, 1), stride=2,
    ...                                padding=1, padding_mode="circular")
    >>> m = polyphase_blocks(op)  # the mean of the four phases' responses: 9 taps
    >>> m.shape, complex(m[0, 0].sum())
    ((2, 2, 1, 4), (9+0j))
    """
    return BlockRows(op)(0, op.geometry.output_shape[0])


class BlockRows:
    """The blocks of a periodic operator a few output frequency rows at a time.

    ``rows(start, stop)`` is ``polyphase_blocks(op)[start:stop]``, as
    ``(k, W'', C_out, s_h s_w C_in)``, or with ``by_phase`` ``(k, C_out, s_h, W'', s_w,
    C_in)`` (the layout of the image's spectrum in
    :func:`~deconv_gui.core.solvers.polyphase.polyphase_solve`): one small matrix product,
    ``E_h[start:stop] @ G`` (``E_h`` the DFT along the output rows, ``G`` the responses
    transformed along the columns), so a factorisation or a solve can work through the
    pieces while each is in the processor's cache, and the whole blocks need not be kept.
    ``precision`` (complex128 or complex64) is that of the pieces.

    ``owner``: when every input channel reaches one output channel at most (one output
    channel; or groups of one output channel each, as a depthwise layer), the output
    channel each input channel reaches, ``(C_in,)`` (0 for one that reaches none); else
    None. Read off the impulse responses, not derived from a group convention. The rows
    of ``M(ω)`` then have disjoint supports, and :meth:`owned` makes each column's one
    entry only.

    ``magnitude``, ``(C_out, s_h s_w C_in)``: the sum of the absolute taps behind each
    entry, a bound on ``|M(ω)|`` at every frequency (so ``‖magnitude‖₂ ≥ σ_max``).
    ``taps``, ``(C_out, s_h s_w C_in L_h L_w)``: each output channel's responses, of
    which every ``M(ω)`` is a linear image (``M(ω) = taps Φ(ω)``, ``Φ`` the phases).

    Raises
    ------
    ValueError
        Naming ``op`` when it is not periodic.
    """

    def __init__(self, op: ConvOperator, *, by_phase: bool = False, precision: Any = complex):
        geometry = op.geometry
        if not is_periodic(geometry):
            raise ValueError(
                "op must be periodic: circular padding with an output grid that tiles the "
                f"input (got padding_mode {geometry.padding_mode!r}, {geometry.describe()})"
            )
        small, (lh, lw) = _probe_geometry(geometry)
        (sh, sw), c_in = geometry.stride, geometry.input_shape[2]
        h_out, w_out, c_out = geometry.output_shape
        n_columns = sh * sw * c_in
        impulses = np.zeros((n_columns, *small.input_shape))
        a, b, c = np.unravel_index(np.arange(n_columns), (sh, sw, c_in))
        impulses[np.arange(n_columns), a, b, c] = 1.0
        responses = ConvOperator(small, op.weights.astype(np.float64)).apply(impulses)
        responses = responses.reshape(sh, sw, c_in, lh, lw, c_out)
        # the DFT of each response on the output grid (offsets wrapped onto it), one axis
        # at a time: columns first (few rows), then the rows by one matrix product
        n_w = w_out // 2 + 1
        along_w = responses.transpose(3, 5, 0, 1, 2, 4) @ _phases(n_w, lw, w_out).T  # pOabcl
        along_w = along_w.transpose((0, 1, 2, 5, 3, 4) if by_phase else (0, 5, 1, 2, 3, 4))
        self.along_w = along_w.reshape(lh, -1).astype(precision)
        self.along_h = _phases(h_out, lh, h_out).astype(precision)
        self.shape: tuple[int, ...] = (
            (c_out, sh, n_w, sw, c_in) if by_phase else (n_w, c_out, n_columns)
        )
        # |M(ω)| ≤ magnitude entrywise at every ω: each entry is a sum of phases times taps
        reach = np.abs(responses).sum(axis=(3, 4))  # (s_h, s_w, C_in, C_out)
        self.magnitude = reach.reshape(n_columns, c_out).T
        self.taps = responses.reshape(-1, c_out).T  # (C_out, n lh lw): each output's taps
        feeds = np.abs(responses).max(axis=(0, 1, 3, 4)) > 0  # (C_in, C_out)
        self.owner = feeds.argmax(axis=1) if (feeds.sum(axis=1) <= 1).all() else None

    def __call__(self, start: int, stop: int) -> np.ndarray:
        return (self.along_h[start:stop] @ self.along_w).reshape(-1, *self.shape)

    def owned(self) -> BlockRows:
        """Rows ``(k, s_h, W'', s_w, C_in)``: each column's entry in the row of its
        :attr:`owner` (of a ``by_phase`` instance whose owner is known)."""
        if self.owner is None or len(self.shape) != 5:
            raise ValueError("owned() needs by_phase rows whose columns each feed one output")
        c_out, sh, n_w, sw, c_in = self.shape
        along_w = self.along_w.reshape(-1, c_out, sh, n_w, sw, c_in).transpose(0, 2, 3, 4, 1, 5)
        rows = copy.copy(self)
        rows.along_w = along_w[..., self.owner, np.arange(c_in)].reshape(len(along_w), -1)
        rows.shape = (sh, n_w, sw, c_in)
        return rows

    def astype(self, precision: Any) -> BlockRows:
        """The same rows made in ``precision``."""
        rows = copy.copy(self)
        rows.along_h = self.along_h.astype(precision)
        rows.along_w = self.along_w.astype(precision)
        return rows


def mirror_weight(n_columns: int, w_out: int) -> np.ndarray:
    """How many frequencies each one-sided column stands for: 2, except 0 and Nyquist."""
    weight = np.full(n_columns, 2)
    weight[0] = 1
    if w_out % 2 == 0:
        weight[-1] = 1
    return weight


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
