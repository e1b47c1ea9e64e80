"""Argument checks: stride and dilation pairs, padding in its forms, a frame's index.

Padding comes as an int, an ``(h, w)`` pair, the four sides, or a name frameworks use
(:data:`PADDING_NAMES`); :func:`as_padding` checks the form, :func:`resolve_padding`
turns a name into the four sides for an image (:func:`same_padding`), and
:func:`output_size` and :func:`transpose_input_shape` do the size arithmetic of the
forward and the transposed layer. Everything here is imported by (and public through)
:mod:`deconv_gui.core.geometry`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .padding import Sides, as_sides

__all__ = [
    "PADDING_NAMES",
    "Pair",
    "Sides",
    "as_padding",
    "as_pair",
    "frame_index",
    "output_size",
    "resolve_padding",
    "same_padding",
    "transpose_input_shape",
]

Pair = tuple[int, int]
#: How frameworks name their padding: ``"same"`` (TF/Keras, ONNX ``SAME_UPPER``, PyTorch
#: ``'same'``: the odd pixel at the bottom/right), ``"same_lower"`` (ONNX ``SAME_LOWER``:
#: at the top/left) and ``"valid"`` (none).
PADDING_NAMES: tuple[str, ...] = ("same", "same_lower", "valid")


def as_pair(value: Any, name: str, *, minimum: int) -> Pair:
    """Return ``value`` as an ``(h, w)`` pair of ints, each ``>= minimum``.

    Parameters
    ----------
    value : int or sequence of two ints
        The stride, padding or dilation as the user gave it.
    name : str
        The argument's name, used in error messages.
    minimum : int
        The smallest allowed value (1 for stride and dilation, 0 for padding).

    Raises
    ------
    ValueError
        If ``value`` is not an int or a pair of ints, or is below ``minimum``.
    """
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be an int or an (h, w) pair of ints, got {value!r}")
    if isinstance(value, (int, np.integer)):
        pair = (int(value), int(value))
    else:
        try:
            items = list(value)
        except TypeError:
            raise ValueError(
                f"{name} must be an int or an (h, w) pair of ints, got {value!r}"
            ) from None
        if len(items) != 2 or not all(
            isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in items
        ):
            raise ValueError(f"{name} must be an int or an (h, w) pair of ints, got {value!r}")
        pair = (int(items[0]), int(items[1]))
    if min(pair) < minimum:
        rule = "non-negative" if minimum == 0 else f">= {minimum}"
        raise ValueError(f"{name} must be {rule}, got {value!r}")
    return pair


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


_PADDING_FORMS = "an int, an (h, w) pair, ((top, bottom), (left, right)) or one of " + ", ".join(
    repr(n) for n in PADDING_NAMES
)


def as_padding(value: Any) -> str | Sides:
    """``value`` as a padding name (lower case) or ``((top, bottom), (left, right))``.

    Accepts an int (every side), an ``(h, w)`` pair (both sides of each axis),
    ``((top, bottom), (left, right))``, or a name of :data:`PADDING_NAMES` (any case;
    ONNX's ``"SAME_UPPER"`` is ``"same"``). A name is resolved for a given image by
    :func:`resolve_padding`.

    Raises
    ------
    ValueError
        Naming ``padding``, for anything else or a negative side.

    Examples
    --------
    >>> from deconv_gui.core.geometry import as_padding
    >>> as_padding(1), as_padding((0, 2)), as_padding("SAME_UPPER")
    (((1, 1), (1, 1)), ((0, 0), (2, 2)), 'same')
    """
    if isinstance(value, str):
        name = value.strip().lower()
        name = "same" if name == "same_upper" else name
        if name not in PADDING_NAMES:
            raise ValueError(f"padding must be {_PADDING_FORMS}, got {value!r}")
        return name
    if _is_int(value):
        return as_sides(as_pair(value, "padding", minimum=0))
    try:
        items = list(value)
    except TypeError:
        raise ValueError(f"padding must be {_PADDING_FORMS}, got {value!r}") from None
    if len(items) == 2 and all(_is_int(v) for v in items):
        return as_sides(as_pair(items, "padding", minimum=0))
    if len(items) == 2 and not any(isinstance(v, str) or _is_int(v) for v in items):
        try:
            axes = [list(v) for v in items]
        except TypeError:
            axes = []
        if len(axes) == 2 and all(len(a) == 2 and all(_is_int(v) for v in a) for a in axes):
            sides = ((int(axes[0][0]), int(axes[0][1])), (int(axes[1][0]), int(axes[1][1])))
            if min(min(sides[0]), min(sides[1])) < 0:
                raise ValueError(f"padding must be non-negative, got {value!r}")
            return sides
    raise ValueError(f"padding must be {_PADDING_FORMS}, got {value!r}")


def same_padding(size: int, kernel: int, stride: int, dilation: int, lower: bool = False) -> Pair:
    """``(before, after)`` of TF/Keras's and ONNX's ``'same'`` padding on one axis.

    The output has ``ceil(size / stride)`` pixels; the padding that needs is
    ``max((out − 1) s + d (f − 1) + 1 − size, 0)``, split in halves with the odd pixel
    after (``'same'``, ONNX ``SAME_UPPER``, PyTorch ``padding='same'``) or before
    (``lower``: ONNX ``SAME_LOWER``).

    Examples
    --------
    >>> from deconv_gui.core.geometry import same_padding
    >>> same_padding(56, 3, 2, 1), same_padding(56, 3, 2, 1, lower=True), same_padding(7, 3, 1, 1)
    ((0, 1), (1, 0), (1, 1))
    """
    n_out = -(-size // stride)
    total = max((n_out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    small, large = total // 2, total - total // 2
    return (large, small) if lower else (small, large)


def resolve_padding(
    padding: Any, size: Sequence[int], kernel: Sequence[int], stride: Pair, dilation: Pair
) -> Sides:
    """``((top, bottom), (left, right))`` of ``padding`` (any form of :func:`as_padding`)
    for an image of ``size = (H, W)``, a filter ``kernel = (f_h, f_w)``, ``stride`` and
    ``dilation`` (pairs).

    Examples
    --------
    >>> from deconv_gui.core.geometry import resolve_padding
    >>> resolve_padding("same", (56, 56), (3, 3), (2, 2), (1, 1))
    ((0, 1), (0, 1))
    """
    value = as_padding(padding)
    if not isinstance(value, str):
        return value
    if value == "valid":
        return (0, 0), (0, 0)
    lower = value == "same_lower"
    h_pads, w_pads = (
        same_padding(size[a], kernel[a], stride[a], dilation[a], lower) for a in (0, 1)
    )
    return h_pads, w_pads


def output_size(size: int, kernel: int, stride: int, padding: int | Pair, dilation: int) -> int:
    """One axis of the output size: ``floor((size + p_0 + p_1 - d(f - 1) - 1) / s) + 1``.

    ``padding`` is an int (``p_0 = p_1``) or ``(before, after)``. May be zero or
    negative when the dilated kernel is larger than the padded input; callers turn that
    into an error.
    """
    total = 2 * padding if isinstance(padding, (int, np.integer)) else sum(padding)
    return (size + total - dilation * (kernel - 1) - 1) // stride + 1


def transpose_input_shape(
    y_shape: Sequence[int],
    filter_shape: Sequence[int],
    stride: Any,
    padding: Any,
    output_padding: Any,
    dilation: Any,
    c_in: int,
) -> tuple[int, int, int]:
    """``(H, W, C_in)`` that PyTorch's ``conv_transpose2d`` returns for ``y`` of ``y_shape``.

    Per axis ``(n_y − 1) s − p_0 − p_1 + d (f − 1) + 1 + output_padding``, with
    ``0 ≤ output_padding < max(s, d)`` (None: 0). With a padding name the size is
    ``(n_y − 1) s + 1 + output_padding`` (``output_padding < s``; None: ``n_y s``, as
    Keras's ``Conv2DTranspose(padding='same')``) and ``'valid'`` is no padding.

    Raises
    ------
    ValueError
        Naming ``output_padding`` (out of range) or ``padding`` (an empty result).

    Examples
    --------
    >>> from deconv_gui.core.geometry import transpose_input_shape
    >>> transpose_input_shape((28, 28, 128), (3, 3, 64, 128), 2, 1, 1, 1, 64)
    (56, 56, 64)
    >>> transpose_input_shape((28, 28, 128), (3, 3, 64, 128), 2, "same", None, 1, 64)
    (56, 56, 64)
    """
    s = as_pair(stride, "stride", minimum=1)
    d = as_pair(dilation, "dilation", minimum=1)
    value = as_padding(padding)
    named = isinstance(value, str) and value != "valid"
    if output_padding is None:
        op = (0, 0)
    else:
        op = as_pair(output_padding, "output_padding", minimum=0)
        limit = s if named else (max(s[0], d[0]), max(s[1], d[1]))
        if op[0] >= limit[0] or op[1] >= limit[1]:
            rule = "the stride" if named else "max(stride, dilation)"
            raise ValueError(
                f"output_padding must be smaller than {rule} {limit} on each axis (PyTorch's "
                f"rule), got {output_padding!r}"
            )
    sizes = []
    for a in (0, 1):
        n_y, f = int(y_shape[a]), int(filter_shape[a])
        if named:
            n = (n_y - 1) * s[a] + 1 + op[a] if output_padding is not None else n_y * s[a]
        else:
            total = 0 if isinstance(value, str) else sum(value[a])
            n = (n_y - 1) * s[a] - total + d[a] * (f - 1) + 1 + op[a]
        if n < 1:
            raise ValueError(
                f"padding {padding!r} is too large: the transposed output would have {n} "
                f"{('rows', 'columns')[a]} (y has {n_y})"
            )
        sizes.append(n)
    return sizes[0], sizes[1], int(c_in)


def frame_index(k: Any, count: int) -> int:
    """``k`` as the int index of one of ``count`` frames (or steps).

    Raises
    ------
    ValueError
        Naming ``k``, when it is not an int in ``[0, count)``.

    Examples
    --------
    >>> from deconv_gui.core.arguments import frame_index
    >>> frame_index(2, 3)
    2
    >>> frame_index(3, 3)
    Traceback (most recent call last):
    ...
    ValueError: k must be an int in [0, 3), got 3
    """
    if not isinstance(k, (int, np.integer)) or not 0 <= k < count:
        raise ValueError(f"k must be an int in [0, {count}), got {k!r}")
    return int(k)
