"""The crop an animation runs on when the image is too large to watch step by step."""

from __future__ import annotations

import numpy as np

from ..geometry import ConvGeometry

__all__ = ["crop_window"]


def crop_window(
    geometry: ConvGeometry,
    centre: tuple[int, int] | None = None,
    size: int = 16,
    min_outputs: int = 4,
) -> tuple[int, int, int, int]:
    """A crop of about ``size`` pixels a side to animate, around ``centre`` (default the middle).

    Parameters
    ----------
    geometry : ConvGeometry
        The whole image's geometry.
    centre : (int, int), optional
        The pixel to keep in the crop (the inspected pixel), clipped to the image.
    size : int
        The crop's side (>= 1); raised where the padding mode or ``min_outputs`` needs
        more, and never more than the image.
    min_outputs : int
        The fewest output positions a side the crop should give (so that the window is
        seen to move: stride 3 and a dilated filter need more than stride 2).

    Returns
    -------
    (row, col, height, width)
        The crop's top-left pixel and shape. The top-left is a multiple of the stride
        where the image allows it, so that the crop's windows are the image's windows.

    Examples
    --------
    >>> from deconv_gui.core import ConvGeometry
    >>> from deconv_gui.core import crop_window
    >>> crop_window(ConvGeometry((256, 256, 3), (3, 3, 3), stride=2, padding=1), (100, 7))
    (92, 0, 16, 16)
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be an int >= 1, got {size!r}")
    out = []
    for axis in (0, 1):
        n = geometry.input_shape[axis]
        pads, s = geometry.pads[axis], geometry.stride[axis]
        span = geometry.dilation[axis] * (geometry.filter_shape[axis] - 1) + 1
        outputs = (max(int(min_outputs), 1) - 1) * s + span - sum(pads)
        need = max(int(size), outputs, max(pads) + 1 if geometry.padding_mode != "zeros" else 1)
        side = min(n, need)
        middle = n // 2 if centre is None else min(max(int(centre[axis]), 0), n - 1)
        start = min(max(middle - side // 2, 0), n - side)
        aligned = start - start % s
        out.append((aligned if aligned + side > middle else start, side))
    (r0, h), (c0, w) = out
    return r0, c0, h, w
