"""Which pixels a strided convolution links: receptive fields, touching outputs, and the
output pixel that corresponds to an input pixel (for the read-out under the cursor).

Geometry only: these need a :class:`~deconv_gui.core.ConvGeometry` (or its loose
arguments), never the filter values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ..geometry import ConvGeometry
from ..keywords import takes_geometry
from ..padding import padded_index

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..keywords import GeometryKeywords

__all__ = [
    "PixelLinks",
    "as_pixel",
    "corresponding_pixels",
    "receptive_field",
    "touching_outputs",
]


class PixelLinks(NamedTuple):
    """Pixels ``(rows[k], cols[k])``, each linked to the clicked pixel by filter tap ``k``.

    Tap ``k`` is ``(tap_rows[k], tap_cols[k])``.

    For :func:`receptive_field` the pixels are input pixels inside the image (taps that
    land in the zero padding are left out; ``clipped_taps`` counts them; with a padding
    mode that copies, a tap in the border gives the pixel it copies). For
    :func:`touching_outputs` they are output pixels. In both cases the weight linking
    the pair is ``weights[tap_rows[k], tap_cols[k], :, :]`` (the channels of the group;
    with ``flip`` the tap is already mirrored).
    """

    rows: np.ndarray
    cols: np.ndarray
    tap_rows: np.ndarray
    tap_cols: np.ndarray
    clipped_taps: int


def as_pixel(value: Any, name: str, shape: tuple[int, int, int]) -> tuple[int, int, int]:
    """Validate ``(row, col)`` or ``(row, col, channel)`` against ``shape``."""
    try:
        items = tuple(value)
    except TypeError:
        raise ValueError(
            f"{name} must be (row, col) or (row, col, channel), got {value!r}"
        ) from None
    if len(items) not in (2, 3) or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in items
    ):
        raise ValueError(f"{name} must be (row, col) or (row, col, channel) ints, got {value!r}")
    pixel = (*(int(v) for v in items), 0)[:3]
    if not all(0 <= p < s for p, s in zip(pixel, shape, strict=True)):
        raise ValueError(f"{name} {tuple(items)} is outside the grid of shape {shape}")
    return pixel[0], pixel[1], pixel[2]


@takes_geometry
def receptive_field(
    output_pixel: Any,
    *,
    input_shape: tuple[int, int, int],
    filter_shape: tuple[int, ...],
    **geometry: Unpack[GeometryKeywords],
) -> PixelLinks:
    """The input pixels that one output pixel reads (its receptive field).

    Parameters
    ----------
    output_pixel : (row, col) or (row, col, channel)
        A pixel of the ``(H_out, W_out, C_out)`` output; the channel does not change
        the spatial field (every output channel reads the input channels of its group).
    input_shape : tuple of int
        ``(H, W, C_in)``.
    filter_shape : tuple of int
        ``(f_h, f_w, C_in / groups, C_out)`` or ``(f_h, f_w, C_in)``.
    %(geometry)s
    padding_mode : str
        As for :func:`conv2d`: a tap in a copied border reads the pixel it copies, so
        a pixel may be listed twice (the matrix entry is the sum of both taps).
    flip : bool
        As for :func:`conv2d`: the taps returned are those of the weights array
        (mirrored), so ``weights[tap]`` is the matrix entry.

    Returns
    -------
    PixelLinks
        Input ``(row, col)`` positions inside the image, with the filter tap that
        reads each one (for the filter overlay), in tap order.

    Notes
    -----
    Tap :math:`(i, j)` of output :math:`(h, w)` reads input
    :math:`(s_h h + d_h i - p_h,\\; s_w w + d_w j - p_w)`.

    Examples
    --------
    >>> from deconv_gui.core import receptive_field
    >>> field = receptive_field((1, 1), input_shape=(7, 7, 3), filter_shape=(3, 3, 3), stride=2)
    >>> [(int(r), int(c)) for r, c in zip(field.rows, field.cols)]
    [(2, 2), (2, 3), (2, 4), (3, 2), (3, 3), (3, 4), (4, 2), (4, 3), (4, 4)]
    """
    geom = ConvGeometry(input_shape, filter_shape, **geometry)
    h, w, _ = as_pixel(output_pixel, "output_pixel", geom.output_shape)
    fh, fw = geom.filter_shape[:2]
    taps_i, taps_j = np.meshgrid(np.arange(fh), np.arange(fw), indexing="ij")
    # positions in the padded image, then the image pixel each copies (-1: a zero)
    rows = geom.stride[0] * h + geom.dilation[0] * taps_i
    cols = geom.stride[1] * w + geom.dilation[1] * taps_j
    rows = padded_index(geom.input_shape[0], geom.pads[0], geom.padding_mode)[rows]
    cols = padded_index(geom.input_shape[1], geom.pads[1], geom.padding_mode)[cols]
    inside = (rows >= 0) & (cols >= 0)
    tap_r, tap_c = _weight_taps(geom, taps_i[inside], taps_j[inside])
    return PixelLinks(rows[inside], cols[inside], tap_r, tap_c, int((~inside).sum()))


@takes_geometry
def touching_outputs(
    input_pixel: Any,
    *,
    input_shape: tuple[int, int, int],
    filter_shape: tuple[int, ...],
    **geometry: Unpack[GeometryKeywords],
) -> PixelLinks:
    """The output pixels whose window reads one input pixel (what ``Aᵀ`` sums there).

    Parameters
    ----------
    input_pixel : (row, col) or (row, col, channel)
        A pixel of the ``(H, W, C_in)`` input.
    input_shape, filter_shape, stride, padding, dilation, padding_mode, groups, flip
        As for :func:`receptive_field` (a window also reads the pixel through the border
        copies of it, so an output may be listed once per tap that reads it).

    Returns
    -------
    PixelLinks
        Output ``(row, col)`` positions (every output channel), with the tap through
        which each reads the pixel; ``clipped_taps`` is 0. Empty for pixels that the
        forward pass never reads (the last rows when the stride does not divide the size).

    Notes
    -----
    Output :math:`h` reads input row :math:`r` through tap :math:`i` when
    :math:`s_h h + d_h i - p_h = r`, i.e. :math:`h = (r + p_h - d_h i) / s_h` is an
    integer in :math:`[0, H_{out})`; the same per column.

    Examples
    --------
    >>> from deconv_gui.core import touching_outputs
    >>> links = touching_outputs((2, 2), input_shape=(7, 7, 3), filter_shape=(3, 3, 3), stride=2)
    >>> sorted({(int(r), int(c)) for r, c in zip(links.rows, links.cols)})
    [(0, 0), (0, 1), (1, 0), (1, 1)]
    """
    geom = ConvGeometry(input_shape, filter_shape, **geometry)
    r, c, _ = as_pixel(input_pixel, "input_pixel", geom.input_shape)
    axes = []
    for axis, coord in ((0, r), (1, c)):
        # every padded position holding this pixel (itself, and its border copies)
        source = padded_index(geom.input_shape[axis], geom.pads[axis], geom.padding_mode)
        where = np.flatnonzero(source == coord)
        taps = np.arange(geom.filter_shape[axis])
        offset = (where[:, np.newaxis] - geom.dilation[axis] * taps).ravel()
        taps = np.broadcast_to(taps, (where.size, taps.size)).ravel()
        step = geom.stride[axis]
        ok = (offset >= 0) & (offset % step == 0) & (offset // step < geom.output_shape[axis])
        axes.append((offset[ok] // step, taps[ok]))
    (out_rows, taps_i), (out_cols, taps_j) = axes
    grid_r, grid_c = np.meshgrid(out_rows, out_cols, indexing="ij")
    tap_r, tap_c = np.meshgrid(taps_i, taps_j, indexing="ij")
    tap_r, tap_c = _weight_taps(geom, tap_r.ravel(), tap_c.ravel())
    return PixelLinks(grid_r.ravel(), grid_c.ravel(), tap_r, tap_c, 0)


def _weight_taps(geom: ConvGeometry, rows: np.ndarray, cols: np.ndarray) -> tuple[Any, Any]:
    """The filter taps of window positions: mirrored for a true convolution (``flip``)."""
    if not geom.flip:
        return rows, cols
    return geom.filter_shape[0] - 1 - rows, geom.filter_shape[1] - 1 - cols


def corresponding_pixels(
    geometry: ConvGeometry, row: int, col: int, *, in_output: bool = False
) -> tuple[tuple[int, int], tuple[int, int]]:
    """The input pixel and the output pixel that correspond to one hovered pixel.

    Parameters
    ----------
    geometry : ConvGeometry
        Shapes and hyper-parameters.
    row, col : int
        The pixel: in the input, or in the output ``y`` when ``in_output`` is True.
    in_output : bool
        Whether ``(row, col)`` indexes the output.

    Returns
    -------
    (int, int), (int, int)
        ``(row, col)`` in the image and ``(row, col)`` in ``y``.

    Notes
    -----
    Output pixel ``o`` reads input rows ``o s − p + d k`` for ``k = 0 … f − 1``; its
    receptive field's centre is ``o s − p + d (f − 1) / 2``. An input pixel maps to
    the output pixel whose centre is nearest, clipped to the output; an output pixel
    maps to its centre, clipped to the image.

    Examples
    --------
    >>> from deconv_gui.core import ConvGeometry, corresponding_pixels
    >>> geometry = ConvGeometry((7, 7, 3), (3, 3, 3), stride=2)
    >>> corresponding_pixels(geometry, 1, 2, in_output=True)
    ((3, 5), (1, 2))
    >>> corresponding_pixels(geometry, 3, 5)
    ((3, 5), (1, 2))
    """
    (h, w, _), (h_out, w_out, _) = geometry.input_shape, geometry.output_shape
    fh, fw = geometry.filter_shape[:2]
    centre = (
        geometry.dilation[0] * (fh - 1) / 2 - geometry.padding[0],
        geometry.dilation[1] * (fw - 1) / 2 - geometry.padding[1],
    )
    (sh, sw) = geometry.stride
    if in_output:
        out = (row, col)
        pixel = (
            int(np.clip(round(row * sh + centre[0]), 0, h - 1)),
            int(np.clip(round(col * sw + centre[1]), 0, w - 1)),
        )
    else:
        pixel = (row, col)
        out = (
            int(np.clip(round((row - centre[0]) / sh), 0, h_out - 1)),
            int(np.clip(round((col - centre[1]) / sw), 0, w_out - 1)),
        )
    return pixel, out
