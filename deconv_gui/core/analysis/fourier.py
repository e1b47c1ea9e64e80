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

For a transposed convolution (a decoder's upsampling layer), output pixel ``i`` gets
the taps ``u`` with ``u d ≡ i + p (mod s)``: ``s_h s_w`` *sub-kernels*, one per phase of
the output (the PixelShuffle form of the layer: ``s²`` stride-1 convolutions whose
outputs are interleaved). When they have different numbers of taps, a constant input
gives a periodic output: the checkerboard.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..geometry import ConvGeometry, as_padding, as_pair, normalize_weights
from ..groups import dense_filter
from ..keywords import GEOMETRY_DEFAULTS, takes_geometry
from ..operator import ConvOperator
from ..padding import PADDING_MODES
from ..solvers.polyphase import is_periodic, polyphase_blocks

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..keywords import GeometryKeywords

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


def recoverable_fraction(op: ConvOperator, *, rtol: float = 1e-8) -> np.ndarray:
    """How much of each input frequency the layer keeps, in ``[0, 1]``, centred.

    Parameters
    ----------
    op : ConvOperator
        The layer; a non-periodic one is analysed through :func:`periodic_twin`.
    rtol : float
        Singular values below ``rtol σ_max`` count as zero (lost).

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
    _, s, vh = np.linalg.svd(blocks, full_matrices=False)
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


def _phase_taps(kernel: int, stride: int, padding: int, dilation: int) -> list[list[int]]:
    """For each output phase ``a``, the taps ``u`` with ``u d ≡ a + p (mod s)``."""
    return [
        [u for u in range(kernel) if (u * dilation - padding - a) % stride == 0]
        for a in range(stride)
    ]


def _transposed_axes(kernel_hw: Any, geometry: Mapping[str, Any]) -> tuple[Any, ...]:
    """``(kernel, stride, top/left crop, dilation)`` pairs and ``flip`` of a transposed layer.

    ``padding`` is the layer's crop in any numeric form of
    :func:`~deconv_gui.core.arguments.as_padding` (only its top and left sides move the
    phases); a name (``"same"``) depends on the sizes and is refused.
    """
    unknown = set(geometry) - set(GEOMETRY_DEFAULTS)
    if unknown:
        raise TypeError(f"unexpected keyword argument {sorted(unknown)[0]!r}")
    options = {**GEOMETRY_DEFAULTS, **geometry}
    kernel = as_pair(kernel_hw, "kernel_hw", minimum=1)
    stride = as_pair(options["stride"], "stride", minimum=1)
    dilation = as_pair(options["dilation"], "dilation", minimum=1)
    padding = as_padding(options["padding"])
    if isinstance(padding, str):
        raise ValueError(
            f"padding must be the transposed layer's crop in pixels, got {padding!r} "
            "(a name depends on the image size: resolve it with the layer's geometry)"
        )
    crop = (padding[0][0], padding[1][0])
    if options["padding_mode"] not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {PADDING_MODES}")
    groups = options["groups"]
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"groups must be an int >= 1, got {groups!r}")
    return kernel, stride, crop, dilation, bool(options["flip"])


@takes_geometry
def transposed_overlaps(kernel_hw: Any, **geometry: Unpack[GeometryKeywords]) -> np.ndarray:
    """How many taps of a transposed convolution reach each output phase ``(a, b)``.

    Away from the borders a constant input gives an output proportional to these
    counts (for a constant kernel): equal counts, no checkerboard.

    Parameters
    ----------
    kernel_hw : int or (int, int)
        The kernel's size.
    %(geometry)s
        ``padding`` is the transposed layer's crop (PyTorch's ``padding`` of
        ``ConvTranspose2d``); ``flip`` (mirrored weights on the same positions), the
        padding mode and groups move no tap: they are checked, and change only the
        weights, the borders and the channels.

    Examples
    --------
    >>> transposed_overlaps(3, stride=2)  # 3×3 at stride 2: 4, 2, 2, 1 taps: the checkerboard
    array([[4, 2],
           [2, 1]])
    >>> transposed_overlaps(4, stride=2, padding=1)  # 4×4 at stride 2: even coverage
    array([[4, 4],
           [4, 4]])
    >>> transposed_overlaps((3, 1), stride=2, padding=(1, 0), flip=True)[:, 0]
    array([1, 2])
    """
    # flip mirrors the weights over the same tap positions: the counts do not change
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), _ = _transposed_axes(kernel_hw, geometry)
    rows = [len(t) for t in _phase_taps(kh, sh, ph, dh)]
    cols = [len(t) for t in _phase_taps(kw, sw, pw, dw)]
    return np.outer(rows, cols)


@takes_geometry
def transposed_subkernels(
    weights: Any, **geometry: Unpack[GeometryKeywords]
) -> list[list[np.ndarray]]:
    """The ``s_h × s_w`` stride-1 sub-kernels of a transposed convolution (PixelShuffle form).

    Output pixel ``i = j s − p + u d`` of the layer gets input ``j`` through tap ``u``;
    phase ``a = i mod s`` gets the taps with ``u d − p ≡ a (mod s)``. Interleaved, the
    phases' stride-1 convolutions are the layer (Shi et al. 2016): output
    ``a + s m`` is ``Σ_k x[m − t_a − k d/g] · sub[a][k]``, ``g = gcd(s, d)``,
    ``t_a = (u_0 d − p − a) / s`` for the phase's first tap ``u_0``
    (:func:`transposed_phase_offsets`).

    Parameters
    ----------
    weights : array_like
        ``(k_h, k_w, C_out/groups, C_in)`` of the transposed layer in this project's
        layout (PyTorch's ``ConvTranspose2d.weight.permute(2, 3, 1, 0)``), or 3-D.
    %(geometry)s
        ``padding`` is the layer's crop; with ``flip`` (true convolution) the sub-kernels
        are those of the mirrored kernel; ``groups`` keeps the weights' layout (each
        sub-kernel connects the same channels as the kernel).

    Returns
    -------
    list of list of numpy.ndarray
        ``sub[a][b]``: the taps that reach output phase ``(a, b)``, in kernel order
        (possibly empty along an axis), each ``(n_a, n_b, C_out/groups, C_in)``.

    Examples
    --------
    >>> w = np.arange(9.0).reshape(3, 3, 1)
    >>> sub = transposed_subkernels(w, stride=2)
    >>> sub[0][0][..., 0, 0]
    array([[0., 2.],
           [6., 8.]])
    >>> sub[1][1][..., 0, 0]
    array([[4.]])
    """
    w = normalize_weights(weights)
    _, (sh, sw), (ph, pw), (dh, dw), flip = _transposed_axes(w.shape[:2], geometry)
    if flip:
        w = w[::-1, ::-1]
    rows = _phase_taps(w.shape[0], sh, ph, dh)
    cols = _phase_taps(w.shape[1], sw, pw, dw)
    return [[w[np.ix_(r, c)] for c in cols] for r in rows]


@takes_geometry
def transposed_phase_offsets(
    kernel_hw: Any, **geometry: Unpack[GeometryKeywords]
) -> tuple[list[int | None], list[int | None], tuple[int, int]]:
    """Where each phase's sub-kernel reads the input: ``(t_rows, t_cols, step)``.

    Output ``(a + s_h m, b + s_w n)`` is
    ``Σ_{k, l} x[m − t_rows[a] − k step_h, n − t_cols[b] − l step_w] · sub[a][b][k, l]``
    (:func:`transposed_subkernels`; ``None`` for a phase no tap reaches), with
    ``step = d / gcd(s, d)`` per axis.

    Examples
    --------
    >>> transposed_phase_offsets(3, stride=2, padding=1)  # taps 1 | 0, 2
    ([0, -1], [0, -1], (1, 1))
    """
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), _ = _transposed_axes(kernel_hw, geometry)

    def offsets(k: int, s: int, p: int, d: int) -> list[int | None]:
        phases = _phase_taps(k, s, p, d)
        return [(t[0] * d - p - a) // s if t else None for a, t in enumerate(phases)]

    step = (dh // math.gcd(sh, dh), dw // math.gcd(sw, dw))
    return offsets(kh, sh, ph, dh), offsets(kw, sw, pw, dw), step


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


def fourier_summary(op: ConvOperator, *, max_side: int = 128) -> FourierSummary:
    """The Fourier view's maps for ``op``, on a crop of at most ``max_side`` pixels a side.

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
    spectrum = filter_spectrum(
        op.weights, (h, w), dilation=g.dilation, groups=g.groups, flip=g.flip
    )
    ones = np.ones(crop.geometry.output_shape)
    coverage = crop.apply_adjoint(ones).sum(axis=-1)
    (fh, fw), (dh, dw) = g.filter_shape[:2], g.dilation
    # the same taps as Aᵀ1 (summed over the channels), applied after upsampling instead
    support = np.zeros(((fh - 1) * dh + 1, (fw - 1) * dw + 1))
    taps = dense_filter(np.asarray(op.weights, np.float64), g.groups, g.flip).sum(axis=(2, 3))
    support[::dh, ::dw] = taps
    upsampled = np.kron(np.ones(crop.geometry.output_shape[:2]), np.ones((sh, sw)))
    resize = _correlate_same(upsampled, support)
    return FourierSummary(
        spectrum=spectrum[..., 0].sum(axis=-1),
        alias=alias_order((h, w), (sh, sw)),
        recoverable=recoverable_fraction(twin).mean(axis=-1),
        overlaps=transposed_overlaps(
            (fh, fw), stride=(sh, sw), padding=g.pads, dilation=(dh, dw), groups=g.groups
        ),
        coverage=coverage,
        resize_coverage=resize,
        phase_variation=_interior_variation(coverage, support.shape),
        grid=(h, w),
        periodic=is_periodic(g),
        subkernels=_subkernel_mosaic(
            transposed_subkernels(
                op.weights,
                stride=(sh, sw),
                padding=g.pads,
                dilation=(dh, dw),
                groups=g.groups,
                flip=g.flip,
            ),
            (sh, sw),
        ),
        transposed=transposed,
    )


def _subkernel_mosaic(sub: list[list[np.ndarray]], stride: tuple[int, int]) -> np.ndarray:
    """``(s_h, s_w, n_h, n_w)``: each phase's taps summed over the channels, NaN-padded."""
    n_h = max(1, *(part.shape[0] for row in sub for part in row))
    n_w = max(1, *(part.shape[1] for row in sub for part in row))
    mosaic = np.full((*stride, n_h, n_w), np.nan)
    for a, row in enumerate(sub):
        for b, part in enumerate(row):
            taps = np.asarray(part, np.float64).sum(axis=(2, 3))
            mosaic[a, b, : taps.shape[0], : taps.shape[1]] = taps
    return mosaic


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
