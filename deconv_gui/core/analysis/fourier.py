"""The Fourier view of a strided layer: its filter's spectrum, how the stride folds
frequencies together, which input frequencies survive, and a transposed layer's phases.

Notes
-----
A stride-``s`` convolution is a filter followed by decimation. On an ``H × W`` input
with an ``H' × W'`` output (``H = s_h H'``), the input frequency ``(k, l)`` lands on the
output frequency ``(k mod H', l mod W')``: ``s_h s_w`` input frequencies (of every input
channel) fold onto each output frequency and are mixed there by the small matrix
``M(ω)`` of :mod:`deconv_gui.core.solvers.polyphase`. What the layer keeps of the input
frequency ``(k, l)`` in channel ``c`` is the squared length of its projection onto the
row space of ``A``: 1 when it can be recovered, 0 when it is lost, in between when it
shares its output frequency with others (aliasing) and only their mixture survives.

A transposed convolution's phases (its sub-kernels and the checkerboard they make) live
in :mod:`deconv_gui.core.analysis.phases`; they are re-exported here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..geometry import ConvGeometry, as_pair, normalize_weights
from ..groups import dense_filter
from ..operator import ConvOperator
from ..solvers.base import CancelCheck, ProgressCallback, in_steps
from ..solvers.polyphase import is_periodic, polyphase_blocks
from .phases import (
    subkernel_mosaic,
    transposed_overlaps,
    transposed_phase_offsets,
    transposed_subkernels,
)

__all__ = [
    "FourierSummary",
    "alias_order",
    "filter_spectrum",
    "fourier_summary",
    "periodic_twin",
    "recoverable_fraction",
    "transposed_overlaps",
    "transposed_phase_offsets",
    "transposed_subkernels",
]


def filter_spectrum(
    weights: Any, grid: tuple[int, int], *, dilation: Any = 1, groups: int = 1, flip: bool = False
) -> np.ndarray:
    """``|Ŵ(ω)|``: the magnitude of each input→output channel filter's DFT, centred.

    Parameters
    ----------
    weights : array_like
        ``(f_h, f_w, C_in/groups, C_out)`` or ``(f_h, f_w, C_in)``.
    grid : (int, int)
        The frequency grid (usually the input's ``(H, W)``).
    dilation : int or (int, int)
        Dilated taps sit ``d`` pixels apart.
    groups : int
        PyTorch's groups: channels outside a filter's group get a zero spectrum.
    flip : bool
        True convolution (the kernel flipped; only the phase changes).

    Returns
    -------
    numpy.ndarray
        ``(G_h, G_w, C_in, C_out)``, zero frequency at the centre (``fftshift``).

    Examples
    --------
    >>> import numpy as np
    >>> s = filter_spectrum(np.ones((3, 3, 1)) / 9, (8, 8))
    >>> s.shape, float(s[4, 4, 0, 0])  # the box filter passes the mean unchanged
    ((8, 8, 1, 1), 1.0)
    """
    w = dense_filter(normalize_weights(weights).astype(np.float64), groups, flip)
    (dh, dw), (gh, gw) = as_pair(dilation, "dilation", minimum=1), grid
    taps = np.zeros((gh, gw, *w.shape[2:]))
    rows = (np.arange(w.shape[0]) * dh) % gh
    cols = (np.arange(w.shape[1]) * dw) % gw
    np.add.at(taps, (rows[:, None], cols[None, :]), w)
    return np.fft.fftshift(np.abs(np.fft.fft2(taps, axes=(0, 1))), axes=(0, 1))


def alias_order(input_hw: tuple[int, int], stride: Any) -> np.ndarray:
    """Which fold each input frequency is in: ``α s_w + β`` for ``(k' + α H', l' + β W')``.

    Frequencies with the same ``(k', l')`` and different orders land on the same output
    frequency. Returned centred (``fftshift``) as ``(H, W)`` integers in ``[0, s_h s_w)``;
    ``H`` and ``W`` must be multiples of the stride.

    Examples
    --------
    >>> alias_order((4, 4), 2)[0]  # along a row: two folds, each a band of two columns
    array([3, 3, 2, 2])
    """
    (h, w), (sh, sw) = input_hw, as_pair(stride, "stride", minimum=1)
    if h % sh or w % sw:
        raise ValueError(f"input_hw {input_hw} must be a multiple of the stride {(sh, sw)}")
    rows = np.arange(h) // (h // sh)
    cols = np.arange(w) // (w // sw)
    return np.fft.fftshift(rows[:, None] * sw + cols[None, :])


def periodic_twin(op: ConvOperator) -> ConvOperator:
    """``op`` made periodic: circular padding on an input cropped to a multiple of the stride.

    The twin has the same filter, stride, dilation, groups and flip; its spectrum is
    what ``op`` does away from the borders. Periodic operators are returned unchanged.

    Raises
    ------
    ValueError
        When the cropped input cannot take the circular padding (a kernel wider than
        the image).
    """
    g = op.geometry
    if is_periodic(g):
        return op
    (sh, sw), (dh, dw) = g.stride, g.dilation
    h, w = max(g.input_shape[0] // sh, 1) * sh, max(g.input_shape[1] // sw, 1) * sw
    # (f − 1) d in all per axis, the odd pixel at the bottom/right: the output tiles the input
    spans = ((g.filter_shape[0] - 1) * dh, (g.filter_shape[1] - 1) * dw)
    pads = tuple((span // 2, span - span // 2) for span in spans)
    twin = _replace(g, input_shape=(h, w, g.input_shape[2]), padding=pads, padding_mode="circular")
    return ConvOperator(twin, op.weights)


def _replace(geometry: ConvGeometry, **changes: Any) -> ConvGeometry:
    """``geometry`` with ``changes``; its four padding sides kept unless they are changed."""
    return dataclasses.replace(geometry, **{"padding": geometry.pads, **changes})


def recoverable_fraction(
    op: ConvOperator,
    *,
    rtol: float = 1e-8,
    cancel: CancelCheck | None = None,
    progress: ProgressCallback | None = None,
) -> np.ndarray:
    """How much of each input frequency the layer keeps, in ``[0, 1]``, centred.

    Parameters
    ----------
    op : ConvOperator
        The layer; a non-periodic one is analysed through :func:`periodic_twin`.
    rtol : float
        Singular values below ``rtol σ_max`` count as zero (lost).
    cancel, progress : optional
        Checked / called between slices of frequencies (see
        :func:`~deconv_gui.core.solvers.in_steps`).

    Returns
    -------
    numpy.ndarray
        ``(H, W, C_in)`` for the (twin's) input grid: ``‖P e_{k,l,c}‖²`` with ``P`` the
        projector onto the row space of ``A`` and ``e`` the unit Fourier vector.

    Examples
    --------
    >>> import numpy as np
    >>> op = ConvOperator.from_weights(np.ones((1, 1, 1)), input_shape=(4, 4, 1), stride=2)
    >>> f = recoverable_fraction(op)  # plain subsampling: every frequency shares with 3
    >>> bool(np.allclose(f, 0.25))
    True
    """
    twin = periodic_twin(op)
    g = twin.geometry
    (sh, sw), (h, w, c_in) = g.stride, g.input_shape
    h_out, w_out = h // sh, w // sw
    blocks = polyphase_blocks(twin)  # (H', W'//2 + 1, C_out, S), S = (a, b, c)
    # one slice of frequency rows at a time, so that a 64-channel layer can stop
    parts = [
        np.linalg.svd(blocks[rows], full_matrices=False)[1:]
        for rows in in_steps(blocks.shape[0], 4, cancel=cancel, progress=progress)
    ]
    s = np.concatenate([p[0] for p in parts])
    vh = np.concatenate([p[1] for p in parts])
    keep = s > rtol * s.max() if s.size and s.max() > 0 else np.zeros(s.shape, bool)
    # rows of Vᴴ from the polyphase basis to the aliased-frequency basis (α, β, c)
    t_h = _fold_transform(np.arange(h_out), sh, h_out)  # (H', a, α)
    t_w = _fold_transform(np.arange(blocks.shape[1]), sw, w_out)  # (W'', b, β)
    v = vh.reshape(*vh.shape[:3], sh, sw, c_in)
    v_alias = np.einsum("xyiabc,xaA,ybB->xyiABc", v, t_h, t_w)
    energy = (np.abs(v_alias) ** 2 * keep[..., None, None, None]).sum(axis=2)  # (H', W'', α, β, c)
    half = np.moveaxis(energy, 2, 0).reshape(h, blocks.shape[1], sw, c_in)  # rows α H' + k'
    full = np.zeros((h, w, c_in))
    for beta in range(sw):
        full[:, beta * w_out + np.arange(blocks.shape[1])] = half[:, :, beta]
    # the other half by conjugate symmetry: (k, l) keeps what (−k, −l) keeps
    cols = np.arange(w)
    mirrored = (cols % w_out) > w_out // 2
    full[:, mirrored] = full[(-np.arange(h)) % h][:, (-cols[mirrored]) % w]
    return np.clip(np.fft.fftshift(full, axes=(0, 1)), 0.0, 1.0)


def _fold_transform(freqs: np.ndarray, stride: int, n_out: int) -> np.ndarray:
    """``T[ω, a, α] = exp(2πi (ω + α n') a / n) / √s``: polyphase ← aliased frequencies.

    The DFT of the polyphase component ``a`` at ``ω`` is ``Σ_α T[ω, a, α]`` times the
    full DFT at ``ω + α n'`` (both unitary); ``T`` is unitary for each ``ω``.
    """
    a = np.arange(stride)[None, :, None]
    alpha = np.arange(stride)[None, None, :]
    angle = 2 * np.pi * (freqs[:, None, None] + alpha * n_out) * a / (stride * n_out)
    return np.exp(1j * angle) / np.sqrt(stride)


@dataclass(frozen=True)
class FourierSummary:
    """What the Fourier view draws for one layer (all maps centred, for display).

    Attributes
    ----------
    spectrum : numpy.ndarray
        ``(H, W)``: ``|Ŵ|`` summed over the input channels of output channel 0, on the
        analysed grid.
    alias : numpy.ndarray
        ``(H, W)`` integers: :func:`alias_order`.
    recoverable : numpy.ndarray
        ``(H, W)``: :func:`recoverable_fraction`, averaged over the input channels.
    overlaps : numpy.ndarray
        ``(s_h, s_w)``: taps of the transposed layer ``Aᵀ`` per output phase.
    coverage : numpy.ndarray
        ``Aᵀ 1`` on the analysed grid (zero padding: the checkerboard with its borders).
    resize_coverage : numpy.ndarray
        The same taps applied after nearest-neighbour upsampling (a stride-1 convolution):
        flat away from the borders (Odena et al.'s fix).
    phase_variation : float
        ``(max − min) / max`` of ``coverage`` away from the borders: 0 when ``Aᵀ`` of a
        constant is constant, else the depth of its checkerboard (taps of unequal count
        or weight per phase).
    grid : (int, int)
        The analysed grid: the image, cropped to a multiple of the stride and to at most
        ``max_side`` a side.
    periodic : bool
        True when the layer itself is periodic (else its periodic twin was analysed).
    subkernels : numpy.ndarray
        The transposed layer's ``s_h s_w`` sub-kernels (:func:`transposed_subkernels`),
        each summed over its channels and placed in a ``(s_h, s_w, n_h, n_w)`` array
        (NaN where a phase has fewer taps than the most): the PixelShuffle form.
    transposed : bool
        True when the layer under study is a ConvTranspose2d ``B``: then ``overlaps``,
        ``coverage`` and ``subkernels`` are ``B``'s own (``B = Aᵀ`` of the strided conv
        ``A`` with its weights, analysed for the spectrum and the fold map), and
        ``recoverable`` says which frequencies of its output ``B`` can produce at all.
    """

    spectrum: np.ndarray
    alias: np.ndarray
    recoverable: np.ndarray
    overlaps: np.ndarray
    coverage: np.ndarray
    resize_coverage: np.ndarray
    phase_variation: float
    grid: tuple[int, int]
    periodic: bool
    subkernels: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((1, 1, 1, 1)))
    transposed: bool = False


def fourier_summary(
    op: ConvOperator,
    *,
    max_side: int = 128,
    cancel: CancelCheck | None = None,
    progress: ProgressCallback | None = None,
) -> FourierSummary:
    """The Fourier view's maps for ``op``, on a crop of at most ``max_side`` pixels a side.

    ``cancel`` and ``progress`` go to :func:`recoverable_fraction`, the long part
    (reported up to 90%; 100% when the whole summary is done).

    ``op`` is a strided convolution ``A`` (its transpose ``Aᵀ`` is what would undo the
    stride) or a ConvTranspose2d layer ``B`` under study (a
    :class:`~deconv_gui.core.ConvTransposeOperator`: its own sub-kernels and overlaps).

    Examples
    --------
    >>> import numpy as np
    >>> op = ConvOperator.from_weights(np.ones((3, 3, 3)), input_shape=(40, 30, 3), stride=2,
    ...                                padding=1)
    >>> s = fourier_summary(op)
    >>> s.grid, s.overlaps.tolist(), s.periodic
    ((40, 30), [[1, 2], [2, 4]], False)
    """
    transposed = bool(op.transposed)
    if transposed:  # B = Aᵀ: its own taps are those of Aᵀ, the strided conv A analysed
        op = op.conv
    g = op.geometry
    (sh, sw) = g.stride
    h = max(min(g.input_shape[0], max_side) // sh, 1) * sh
    w = max(min(g.input_shape[1], max_side) // sw, 1) * sw
    crop = ConvOperator(_replace(g, input_shape=(h, w, g.input_shape[2])), op.weights)
    twin = periodic_twin(crop)
    # output channel 0 only (what is drawn): all 64 × 64 channels' FFTs took ~10 s
    dense = dense_filter(normalize_weights(op.weights).astype(np.float64), g.groups, g.flip)
    spectrum = filter_spectrum(dense[..., :1], (h, w), dilation=g.dilation)
    ones = np.ones(crop.geometry.output_shape)
    coverage = crop.apply_adjoint(ones).sum(axis=-1)
    (fh, fw), (dh, dw) = g.filter_shape[:2], g.dilation
    # the same taps as Aᵀ1 (summed over the channels), applied after upsampling instead
    support = np.zeros(((fh - 1) * dh + 1, (fw - 1) * dw + 1))
    taps = dense_filter(np.asarray(op.weights, np.float64), g.groups, g.flip).sum(axis=(2, 3))
    support[::dh, ::dw] = taps
    upsampled = np.kron(np.ones(crop.geometry.output_shape[:2]), np.ones((sh, sw)))
    resize = _correlate_same(upsampled, support)
    # the SVD slices are most of the time, not all: the bar reaches 100% at the very end
    sliced = None if progress is None else (lambda k, f: progress(k, 0.9 * f))
    recoverable = recoverable_fraction(twin, cancel=cancel, progress=sliced)
    summary = FourierSummary(
        spectrum=spectrum[..., 0].sum(axis=-1),
        alias=alias_order((h, w), (sh, sw)),
        recoverable=recoverable.mean(axis=-1),
        overlaps=transposed_overlaps(
            (fh, fw), stride=(sh, sw), padding=g.pads, dilation=(dh, dw), groups=g.groups
        ),
        coverage=coverage,
        resize_coverage=resize,
        phase_variation=_interior_variation(coverage, support.shape),
        grid=(h, w),
        periodic=is_periodic(g),
        subkernels=subkernel_mosaic(
            transposed_subkernels(
                op.weights,
                stride=(sh, sw),
                padding=g.pads,
                dilation=(dh, dw),
                groups=g.groups,
                flip=g.flip,
            )
        ),
        transposed=transposed,
    )
    if progress is not None:
        progress(0, 1.0)
    return summary


def _interior_variation(coverage: np.ndarray, span: tuple[int, int]) -> float:
    inner = coverage[span[0] : coverage.shape[0] - span[0], span[1] : coverage.shape[1] - span[1]]
    if inner.size == 0:
        inner = coverage
    top = float(np.abs(inner).max())
    return float(inner.max() - inner.min()) / top if top > 0 else 0.0


def _correlate_same(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Zero-padded 'same' correlation of a 2-D image with a small kernel (by shifts)."""
    kh, kw = kernel.shape
    padded = np.pad(image, ((kh // 2, kh - 1 - kh // 2), (kw // 2, kw - 1 - kw // 2)))
    out = np.zeros_like(image, dtype=np.float64)
    for a in range(kh):
        for b in range(kw):
            if kernel[a, b] != 0:
                out += kernel[a, b] * padded[a : a + image.shape[0], b : b + image.shape[1]]
    return out
