"""The output-size ambiguity of a strided convolution, one axis at a time.

Several input sizes give the same output size when the stride does not divide the
padded size evenly; a transposed convolution must then be told which one to return
(PyTorch's ``output_padding``). :func:`matching_input_sizes` lists them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["matching_input_sizes"]


def _as_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        rule = "non-negative" if minimum == 0 else f">= {minimum}"
        raise ValueError(f"{name} must be {rule}, got {value!r}")
    return int(value)


def matching_input_sizes(
    output_size: int,
    kernel_size: int,
    stride: int = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int = 1,
) -> list[int]:
    """Every input size (ascending) that a convolution maps to ``output_size``, one axis.

    Parameters
    ----------
    output_size : int
        The output size along the axis (>= 1).
    kernel_size : int
        The filter size along the axis (>= 1).
    stride, dilation : int
        Stride (>= 1) and dilation (>= 1).
    padding : int or (int, int)
        Padding on each side (>= 0), or ``(before, after)``.

    Returns
    -------
    list of int
        The sizes ``n >= 1`` with ``floor((n + p_0 + p_1 - d(f - 1) - 1) / s) + 1 == output_size``:
        at most ``stride`` consecutive sizes, possibly none (when the padding alone is
        larger than the output needs). A transposed convolution with PyTorch's
        ``output_padding = k`` returns the ``k``-th of the full run of ``stride`` sizes.

    Raises
    ------
    ValueError
        Naming ``output_size``, ``kernel_size``, ``stride``, ``padding`` or ``dilation``
        when it is not an int in range.

    Examples
    --------
    >>> from deconv_gui.core import matching_input_sizes
    >>> matching_input_sizes(3, 3, stride=2)  # 7 or 8 rows give 3: output_padding 0 or 1
    [7, 8]
    >>> matching_input_sizes(4, 3, stride=1, padding=1)
    [4]
    """
    n_out = _as_int(output_size, "output_size", 1)
    f = _as_int(kernel_size, "kernel_size", 1)
    s = _as_int(stride, "stride", 1)
    if isinstance(padding, (tuple, list)) and len(padding) == 2:
        total = _as_int(padding[0], "padding", 0) + _as_int(padding[1], "padding", 0)
    else:
        total = 2 * _as_int(padding, "padding", 0)
    d = _as_int(dilation, "dilation", 1)
    # floor((n - first) / s) = n_out - 1 with first = d(f - 1) + 1 - p_0 - p_1, the
    # smallest input whose padded size holds the dilated filter once
    first = d * (f - 1) + 1 - total + (n_out - 1) * s
    return list(range(max(first, 1), first + s))
