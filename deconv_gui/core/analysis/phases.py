"""A transposed convolution's phases: its stride-1 sub-kernels (the PixelShuffle form),
how many taps reach each output phase (the checkerboard), and where each phase reads.

Notes
-----
For a transposed convolution (a decoder's upsampling layer), output pixel ``i`` gets
the taps ``u`` with ``u d ≡ i + p (mod s)``: ``s_h s_w`` *sub-kernels*, one per phase of
the output (Shi et al. 2016: ``s²`` stride-1 convolutions whose outputs are
interleaved). When they have different numbers of taps, a constant input gives a
periodic output: the checkerboard (Odena et al. 2016).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..arguments import as_padding, as_pair
from ..choices import check_choice
from ..geometry import normalize_weights
from ..keywords import GEOMETRY_DEFAULTS, takes_geometry
from ..padding import PADDING_MODES

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..keywords import GeometryKeywords

__all__ = [
    "subkernel_mosaic",
    "transposed_overlaps",
    "transposed_phase_offsets",
    "transposed_subkernels",
]


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
    check_choice("padding_mode", options["padding_mode"], PADDING_MODES)
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


def subkernel_mosaic(sub: list[list[np.ndarray]]) -> np.ndarray:
    """``(s_h, s_w, n_h, n_w)``: each phase's taps summed over the channels, NaN-padded.

    ``sub`` is :func:`transposed_subkernels`' answer (``s_h`` rows of ``s_w`` phases).

    Examples
    --------
    >>> mosaic = subkernel_mosaic(transposed_subkernels(np.ones((3, 3, 1)), stride=2))
    >>> mosaic[..., 0, 0].tolist(), int(np.isnan(mosaic[1, 1]).sum())
    ([[1.0, 1.0], [1.0, 1.0]], 3)
    """
    n_h = max(1, *(part.shape[0] for row in sub for part in row))
    n_w = max(1, *(part.shape[1] for row in sub for part in row))
    mosaic = np.full((len(sub), len(sub[0]), n_h, n_w), np.nan)
    for a, row in enumerate(sub):
        for b, part in enumerate(row):
            taps = np.asarray(part, np.float64).sum(axis=(2, 3))
            mosaic[a, b, : taps.shape[0], : taps.shape[1]] = taps
    return mosaic
