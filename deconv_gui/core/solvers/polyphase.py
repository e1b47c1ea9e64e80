"""The exact pseudo-inverse of a periodic strided convolution, one small block per frequency.

Notes
-----
With circular padding and an output grid that tiles the input exactly
(``H_out · s_h = H`` and ``W_out · s_w = W``), shifting the image by one stride shifts
the output by one pixel: ``A`` is *block-circulant*. Split the image into its
``s_h s_w`` polyphase components ``x_{a,b}[m, n, c] = x[m s_h + a, n s_w + b, c]``; each
is convolved (circularly, on the output grid) with the response ``g_{a,b,c}`` of ``A`` to
an impulse at ``(a, b, c)``, and the results are summed. The DFT on the output grid
turns that into one small matrix per output frequency ``ω``:

.. math:: \\hat y(ω) = M(ω)\\, \\hat x_{poly}(ω), \\qquad
          M(ω) \\in \\mathbb{C}^{C_{out} \\times s_h s_w C_{in}},

whose columns are the DFTs of the impulse responses. The polyphase split is a
permutation and the DFT is unitary up to a factor that cancels, so
``A = U* M U P`` with unitary ``U`` and a permutation ``P``: the singular values of ``A``
are those of all the blocks together, and

.. math:: A^+ y = P^T\\, \\mathrm{DFT}^{-1}\\big[M(ω)^+ \\hat y(ω)\\big],

exact to rounding (Tikhonov likewise, with ``(M^*M + reg)^{-1} M^*`` per block). This is
the closed form that aliasing gives: each output frequency mixes the ``s_h s_w`` input
frequencies that fold onto it (and every input channel), and nothing else.

The responses are measured on a small periodic copy of the geometry (a few strides a
side), so no padding, flip, dilation or group convention is re-derived here: whatever
the operator computes is what is inverted.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import numpy as np
import scipy.fft

from ..geometry import ConvGeometry
from ..operator import ConvOperator
from .dense import pinv_cutoff

__all__ = [
    "PolyphaseSolution",
    "fourier_is_possible",
    "is_periodic",
    "polyphase_blocks",
    "polyphase_singular_values",
    "polyphase_solve",
]

#: Bytes of complex blocks (``H_out × (W_out/2 + 1) × C_out × s² C_in``) up to which the
#: closed form is used; larger layers go to the iterative solver.
BLOCK_MEMORY_LIMIT = 512 * 2**20


class PolyphaseSolution(NamedTuple):
    """The image of :func:`polyphase_solve` and what the cut kept."""

    image: np.ndarray
    rank: int
    cutoff: float


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


def fourier_is_possible(geometry: ConvGeometry) -> bool:
    """True when the per-frequency solve applies: periodic, and its blocks fit in memory."""
    return is_periodic(geometry) and _block_bytes(geometry) <= BLOCK_MEMORY_LIMIT


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
    """
    geometry = op.geometry
    if not is_periodic(geometry):
        raise ValueError(
            "op must be periodic: circular padding with an output grid that tiles the input "
            f"(got padding_mode {geometry.padding_mode!r}, {geometry.describe()})"
        )
    small, (lh, lw) = _probe_geometry(geometry)
    (sh, sw), c_in = geometry.stride, geometry.input_shape[2]
    h_out, w_out, c_out = geometry.output_shape
    n_columns = sh * sw * c_in
    impulses = np.zeros((n_columns, *small.input_shape))
    a, b, c = np.unravel_index(np.arange(n_columns), (sh, sw, c_in))
    impulses[np.arange(n_columns), a, b, c] = 1.0
    responses = ConvOperator(small, op.weights.astype(np.float64)).apply(impulses)
    # signed output offsets on the small grid, wrapped onto the real one
    rows = np.where(np.arange(lh) <= lh // 2, np.arange(lh), np.arange(lh) - lh) % h_out
    cols = np.where(np.arange(lw) <= lw // 2, np.arange(lw), np.arange(lw) - lw) % w_out
    periodic = np.zeros((h_out, w_out, c_out, n_columns))
    np.add.at(periodic, (rows[:, None], cols[None, :]), responses.transpose(1, 2, 3, 0))
    return scipy.fft.rfft2(periodic, axes=(0, 1))


def _block_bytes(geometry: ConvGeometry) -> int:
    h_out, w_out, c_out = geometry.output_shape
    (sh, sw) = geometry.stride
    return 16 * h_out * (w_out // 2 + 1) * c_out * sh * sw * geometry.input_shape[2]


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
    values = np.linalg.svd(blocks, compute_uv=False)
    weight = _mirror_weight(blocks.shape[1], op.geometry.output_shape[1])
    counted = np.repeat(values.reshape(-1, values.shape[-1]), np.tile(weight, blocks.shape[0]), 0)
    return np.sort(counted.ravel())[::-1]


def polyphase_solve(
    op: ConvOperator,
    y: Any,
    *,
    reg: float = 0.0,
    rtol: float = 0.0,
    dtype: Any = np.float64,
) -> PolyphaseSolution:
    """``A⁺ y`` (or Tikhonov ``(AᵀA + reg I)⁻¹ Aᵀ y``) of a periodic operator, in closed form.

    Parameters
    ----------
    op : ConvOperator
        A periodic operator (:func:`is_periodic`).
    y : array_like
        ``(H_out, W_out, C_out)`` or a batch ``(m, H_out, W_out, C_out)``, bias removed.
    reg : float
        Tikhonov weight (>= 0).
    rtol : float
        Singular values below ``max(ε max(C_out, s² C_in), rtol) σ_max`` count as zero
        (:func:`~deconv_gui.core.solvers.dense.pinv_cutoff` of one block); with
        ``reg > 0`` only the precision cut applies.
    dtype : numpy dtype
        The coarsest dtype of the data, for the precision cut (``ε`` times the larger
        side of a block: each block is factorised on its own, to that accuracy).

    Returns
    -------
    PolyphaseSolution
        ``image`` in float64 (``(H, W, C_in)`` or batched), ``rank`` and the ``cutoff``.

    Raises
    ------
    ValueError
        When ``op`` is not periodic, the blocks would exceed
        :data:`BLOCK_MEMORY_LIMIT`, ``reg`` is negative or ``y`` has the wrong shape.

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
    if _block_bytes(geometry) > BLOCK_MEMORY_LIMIT:
        raise ValueError(
            f"op is too large for the per-frequency solve ({_block_bytes(geometry) / 2**20:.0f} "
            f"MiB of blocks, limit {BLOCK_MEMORY_LIMIT / 2**20:.0f} MiB)"
        )
    arr = np.asarray(y, dtype=np.float64)
    h_out, w_out, c_out = geometry.output_shape
    if arr.shape[-3:] != (h_out, w_out, c_out) or arr.ndim not in (3, 4):
        raise ValueError(f"y must have shape {geometry.output_shape} or (m, ...), got {arr.shape}")
    blocks = polyphase_blocks(op)
    cutoff = pinv_cutoff(blocks.shape[-2:], dtype, rtol if reg == 0 else 0.0)
    spectrum = scipy.fft.rfft2(arr, axes=(-3, -2))
    solved, keep = _solve_blocks(blocks, spectrum, float(reg), cutoff)
    poly = scipy.fft.irfft2(solved, s=(h_out, w_out), axes=(-3, -2))
    (sh, sw), c_in = geometry.stride, geometry.input_shape[2]
    lead = poly.shape[:-3]
    image = poly.reshape(*lead, h_out, w_out, sh, sw, c_in)
    image = np.moveaxis(image, -3, -4).reshape(*lead, h_out * sh, w_out * sw, c_in)
    rank = int((keep * _mirror_weight(keep.shape[1], w_out)[None, :, None]).sum())
    return PolyphaseSolution(np.ascontiguousarray(image), rank, float(cutoff))


def _solve_blocks(
    blocks: np.ndarray, spectrum: np.ndarray, reg: float, cutoff: float
) -> tuple[np.ndarray, np.ndarray]:
    """``V diag(σ / (σ² + reg)) Uᴴ ŷ`` at every frequency, and the singular values kept.

    Values at or below ``cutoff σ_max`` count as zero. One-row blocks (one output
    channel) in closed form: their one singular value is the row's norm.
    """
    if blocks.shape[-2] == 1:
        row = blocks[..., 0, :]
        energy = np.einsum("...i,...i->...", row.real, row.real)
        energy += np.einsum("...i,...i->...", row.imag, row.imag)
        sigma = np.sqrt(energy)
        keep = sigma > cutoff * sigma.max() if sigma.size and sigma.max() > 0 else sigma < 0
        factor = np.where(keep, 1.0 / np.where(keep, energy + reg, 1.0), 0.0)
        return row.conj() * (spectrum[..., 0] * factor)[..., None], keep[..., None]
    u, s, vh = np.linalg.svd(blocks, full_matrices=False)
    top = float(s.max()) if s.size else 0.0
    keep = s > cutoff * top if top > 0 else np.zeros(s.shape, bool)
    gain = np.where(keep, s / np.where(keep, s * s + reg, 1.0), 0.0)
    coeffs = np.einsum("...ji,...j->...i", u.conj(), spectrum) * gain
    return np.einsum("...ij,...i->...j", vh.conj(), coeffs), keep


def _mirror_weight(n_columns: int, w_out: int) -> np.ndarray:
    """How many frequencies each one-sided column stands for: 2, except 0 and Nyquist."""
    weight = np.full(n_columns, 2)
    weight[0] = 1
    if w_out % 2 == 0:
        weight[-1] = 1
    return weight
