"""Shape arithmetic and argument validation for strided, padded, dilated 2-D convolution.

Everything here is pure Python/numpy. Every public function of the core funnels its
arguments through these helpers, so that bad input raises a `ValueError` whose
message names the argument and the rule it broke.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .arguments import (
    PADDING_NAMES,
    Pair,
    Sides,
    as_padding,
    as_pair,
    output_size,
    resolve_padding,
    same_padding,
    transpose_input_shape,
)
from .arrays import as_float_array, normalize_bias, normalize_weights
from .groups import check_groups
from .padding import check_padding_mode

__all__ = [
    "MAX_ARRAY_BYTES",
    "PADDING_NAMES",
    "ConvGeometry",
    "Hyper",
    "Padding",
    "ShapeCounts",
    "as_float_array",
    "as_padding",
    "as_pair",
    "centred_output",
    "check_output_shape",
    "normalize_bias",
    "normalize_weights",
    "output_size",
    "resolve_padding",
    "same_padding",
    "transpose_input_shape",
    "weights_for",
]

#: A stride or dilation as the public functions take it: one int for both axes, or
#: ``(rows, columns)``.
Hyper = int | tuple[int, int]
#: Padding in any form :func:`as_padding` accepts.
Padding = int | Pair | Sides | Sequence[int] | Sequence[Sequence[int]] | str


#: The largest array a geometry may call for, in bytes of float64: the zero-padded image
#: and the output are each checked against it before anything is allocated.
MAX_ARRAY_BYTES = 2 * 1024**3
#: Stride and dilation may exceed the padded image (one output row, or one tap, per axis)
#: up to this value; beyond it only the index arithmetic grows.
MAX_STEP = 1024


def _check_sizes(
    input_shape: tuple[int, ...],
    filter_shape: tuple[int, ...],
    stride: Pair,
    padding: Sides,
    dilation: Pair,
) -> None:
    """Refuse hyper-parameters whose arrays would not fit, before any allocation.

    Raises
    ------
    ValueError
        Naming ``stride``, ``dilation``, ``padding`` or ``input_shape`` and the size it
        would need.
    """
    h, w, c_in = input_shape
    padded = (h + sum(padding[0]), w + sum(padding[1]))
    for name, pair in (("stride", stride), ("dilation", dilation)):
        for axis, label in ((0, "height"), (1, "width")):
            # a step beyond the padded image reads one pixel per output row or column
            # anyway; larger values only make the index arithmetic overflow
            bound = max(padded[axis], MAX_STEP)
            if pair[axis] > bound:
                raise ValueError(
                    f"{name} must be at most {bound:,} (the larger of the padded image "
                    f"{label} and {MAX_STEP:,}), got {pair[axis]:,}"
                )
    name = "padding" if max(max(padding[0]), max(padding[1])) > 0 else "input_shape"
    _refuse_large(name, "the zero-padded image", (padded[0], padded[1], c_in))
    outs = [(padded[a] - dilation[a] * (filter_shape[a] - 1) - 1) // stride[a] + 1 for a in (0, 1)]
    _refuse_large(name, "the output", (max(outs[0], 0), max(outs[1], 0), filter_shape[3]))


def _refuse_large(name: str, what: str, shape: tuple[int, int, int]) -> None:
    """A ValueError naming ``name`` when an array of ``shape`` would pass the size limit."""
    size = shape[0] * shape[1] * shape[2]
    if size > MAX_ARRAY_BYTES // 8:
        raise ValueError(
            f"{name}: {what} would be {shape[0]:,}×{shape[1]:,}×{shape[2]} = {size:,} values "
            f"({_gib(size * 8)}), more than the limit of {_gib(MAX_ARRAY_BYTES)} per array"
        )


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / 1024**3:,.1f} GiB"


def _as_shape(value: Any, name: str, rank: int, labels: str) -> tuple[int, ...]:
    try:
        items = tuple(value)
    except TypeError:
        raise ValueError(f"{name} must be a tuple {labels}, got {value!r}") from None
    if len(items) != rank or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in items
    ):
        raise ValueError(f"{name} must be a tuple of {rank} ints {labels}, got {value!r}")
    shape = tuple(int(v) for v in items)
    if min(shape) < 1:
        raise ValueError(f"{name} must have every size >= 1, got {shape}")
    return shape


class ShapeCounts:
    """Equations, unknowns and lost dimensions of a geometry: ``input_shape → output_shape``.

    Shared by :class:`ConvGeometry` and the transposed layer's geometry; ``LAYER`` names
    the layer in :meth:`describe` (empty for the conv).
    """

    input_shape: tuple[int, int, int]
    LAYER = ""

    @property
    def output_shape(self) -> tuple[int, int, int]:
        """``(H_out, W_out, C_out)``: the subclass's."""
        raise NotImplementedError

    @property
    def n_unknowns(self) -> int:
        """Number of columns of A: ``H * W * C_in``."""
        return int(np.prod(self.input_shape))

    @property
    def n_equations(self) -> int:
        """Number of rows of A: ``H_out * W_out * C_out``."""
        return int(np.prod(self.output_shape))

    @property
    def min_nullity(self) -> int:
        """A lower bound on the null-space dimension: ``max(0, unknowns - equations)``."""
        return max(0, self.n_unknowns - self.n_equations)

    def describe(self) -> str:
        """One line of shape arithmetic, e.g. ``7×7×3 → 3×3×1 · 9 equations, 147 unknowns``."""
        shape_in = "×".join(map(str, self.input_shape))
        shape_out = "×".join(map(str, self.output_shape))
        layer = f" ({self.LAYER})" if self.LAYER else ""
        text = (
            f"{shape_in} → {shape_out}{layer} · {self.n_equations:,} equations, "
            f"{self.n_unknowns:,} unknowns"
        )
        if self.min_nullity:
            text += f" · at least {self.min_nullity:,} dimensions lost"
        return text


@dataclass(frozen=True, init=False)
class ConvGeometry(ShapeCounts):
    """The shapes and hyper-parameters of one strided 2-D cross-correlation.

    Parameters
    ----------
    input_shape : tuple of int
        ``(H, W, C_in)`` of one image.
    filter_shape : tuple of int
        ``(f_h, f_w, C_in, C_out)``; a 3-tuple means ``C_out = 1``.
    stride, dilation : int or (int, int)
        Stride (>= 1) and dilation (>= 1), for both axes or as an ``(h, w)`` pair.
        Stored as pairs.
    padding : int, (int, int), ((int, int), (int, int)) or str
        Padding on each side (>= 0): an int, an ``(h, w)`` pair (the same on both sides
        of an axis), ``((top, bottom), (left, right))``, or as frameworks name it:
        ``"same"`` (TF/Keras, ONNX ``SAME_UPPER``, PyTorch ``'same'``: ``ceil(n / s)``
        outputs, the odd pixel at the bottom/right), ``"same_lower"`` (ONNX
        ``SAME_LOWER``: the odd pixel at the top/left) or ``"valid"`` (none); see
        :func:`resolve_padding`. The four sides are stored in :attr:`pads`;
        :attr:`padding` holds ``(top, left)``, the padding before the image, which is
        the padding on each side when :attr:`symmetric`.
    padding_mode : str
        ``"zeros"`` (default), ``"reflect"``, ``"replicate"`` or ``"circular"``, as in
        PyTorch's ``nn.Conv2d``: the image is padded so (``F.pad``), then convolved
        without padding.
    groups : int
        PyTorch's ``groups``: the filter is ``(f_h, f_w, C_in/groups, C_out)`` and each
        group of output channels sees only its group of input channels.
    flip : bool
        True convolution: the kernel is flipped in both spatial axes first.

    Raises
    ------
    ValueError
        On a wrong rank, a channel mismatch, an out-of-range hyper-parameter, an
        unknown ``padding_mode`` (or reflect padding not smaller than the image), or a
        dilated filter larger than the padded image (an empty output).

    Notes
    -----
    Per axis the output size is

    .. math:: n_{out} = \\lfloor (n + p_0 + p_1 - d(f - 1) - 1) / s \\rfloor + 1,

    the rule of PyTorch's ``conv2d``. The operator maps ``H W C_in`` unknowns to
    ``H_out W_out C_out`` equations.

    Examples
    --------
    >>> from deconv_gui.core import ConvGeometry
    >>> geometry = ConvGeometry((7, 7, 3), (3, 3, 3), stride=2)
    >>> geometry.output_shape, geometry.n_equations, geometry.n_unknowns
    ((3, 3, 1), 9, 147)
    >>> geometry.describe()
    '7×7×3 → 3×3×1 · 9 equations, 147 unknowns · at least 138 dimensions lost'
    >>> same = ConvGeometry((56, 56, 64), (3, 3, 64, 128), stride=2, padding="same")
    >>> same.pads, same.output_shape
    (((0, 1), (0, 1)), (28, 28, 128))
    """

    input_shape: tuple[int, int, int]
    filter_shape: tuple[int, int, int, int]
    stride: Pair = (1, 1)
    padding: Pair = (0, 0)
    dilation: Pair = (1, 1)
    padding_mode: str = "zeros"
    groups: int = 1
    flip: bool = False
    #: ``((top, bottom), (left, right))``: the padding on each of the four sides.
    pads: Sides = field(default=((0, 0), (0, 0)), init=False)

    def __init__(
        self,
        input_shape: Sequence[int],
        filter_shape: Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: Any = 0,
        dilation: int | Sequence[int] = 1,
        padding_mode: str = "zeros",
        groups: int = 1,
        flip: bool = False,
    ) -> None:
        # Written out (not generated) so that the arguments may be loose (ints, lists)
        # while the fields are always normalised pairs and tuples.
        input_shape = _as_shape(input_shape, "input_shape", 3, "(H, W, C_in)")
        filt = filter_shape
        if isinstance(filt, (tuple, list)) and len(filt) == 3:
            filt = (*filt, 1)  # a 3-D filter means C_out = 1
        filter_shape = _as_shape(filt, "filter_shape", 4, "(f_h, f_w, C_in, C_out)")
        stride = as_pair(stride, "stride", minimum=1)
        dilation = as_pair(dilation, "dilation", minimum=1)
        pads = resolve_padding(padding, input_shape[:2], filter_shape[:2], stride, dilation)
        padding_mode = check_padding_mode(padding_mode, pads, (input_shape[0], input_shape[1]))
        if type(groups) is not int or groups != 1 or flip is not False:
            c_in, c_out = input_shape[2], filter_shape[3]
            groups = check_groups(groups, flip, c_in, c_out, filter_shape[2])
            filter_shape = (*filter_shape[:2], c_in, c_out)  # validated above
        if filter_shape[2] != input_shape[2]:
            raise ValueError(
                "channel mismatch: the image has C_in = "
                f"{input_shape[2]} channels but weights expect C_in = {filter_shape[2]} "
                f"(input_shape {input_shape}, filter_shape {filter_shape})"
            )
        object.__setattr__(self, "input_shape", input_shape)
        object.__setattr__(self, "filter_shape", filter_shape)
        object.__setattr__(self, "stride", stride)
        object.__setattr__(self, "padding", (pads[0][0], pads[1][0]))
        object.__setattr__(self, "pads", pads)
        object.__setattr__(self, "dilation", dilation)
        object.__setattr__(self, "padding_mode", padding_mode)
        object.__setattr__(self, "groups", int(groups))
        object.__setattr__(self, "flip", bool(flip))
        if groups != 1:  # the filter as given: C_in / groups on its third axis
            grouped = (*filter_shape[:2], filter_shape[2] // groups, filter_shape[3])
            object.__setattr__(self, "filter_shape", grouped)
        _check_sizes(input_shape, filter_shape, stride, pads, dilation)
        for axis, label in ((0, "height"), (1, "width")):
            n_out = output_size(
                input_shape[axis], filter_shape[axis], stride[axis], pads[axis], dilation[axis]
            )
            if n_out < 1:
                span = dilation[axis] * (filter_shape[axis] - 1) + 1
                p = pads[axis][0] if pads[axis][0] == pads[axis][1] else pads[axis]
                raise ValueError(
                    f"empty output: the dilated filter {label} {span} is larger than the padded "
                    f"image {label} {input_shape[axis] + sum(pads[axis])} "
                    f"(weights {filter_shape[axis]} with dilation {dilation[axis]}, "
                    f"input_shape {input_shape[axis]} with padding {p})"
                )

    @property
    def output_shape(self) -> tuple[int, int, int]:
        """``(H_out, W_out, C_out)``."""
        h, w, _ = self.input_shape
        fh, fw, _, c_out = self.filter_shape
        return (
            output_size(h, fh, self.stride[0], self.pads[0], self.dilation[0]),
            output_size(w, fw, self.stride[1], self.pads[1], self.dilation[1]),
            c_out,
        )

    def __repr__(self) -> str:
        padding = self.padding if self.symmetric else self.pads
        return (
            f"ConvGeometry(input_shape={self.input_shape}, filter_shape={self.filter_shape}, "
            f"stride={self.stride}, padding={padding}, dilation={self.dilation}, "
            f"padding_mode={self.padding_mode!r}, groups={self.groups}, flip={self.flip})"
        )

    @property
    def symmetric(self) -> bool:
        """Whether each axis has the same padding on both sides (PyTorch's ``padding=``)."""
        return self.pads[0][0] == self.pads[0][1] and self.pads[1][0] == self.pads[1][1]

    @property
    def padded_shape(self) -> tuple[int, int, int]:
        """``(top + H + bottom, left + W + right, C_in)``: the image after ``F.pad``."""
        (h, w, c_in), ((pt, pb), (pl, pr)) = self.input_shape, self.pads
        return (pt + h + pb, pl + w + pr, c_in)

    def unpadded(self) -> ConvGeometry:
        """The same convolution on the padded image, without padding (``F.pad`` done)."""
        shape = self.padded_shape
        return ConvGeometry(shape, self.dense().filter_shape, self.stride, 0, self.dilation)

    def dense(self) -> ConvGeometry:
        """The same geometry for the dense filter (groups 1, no flip; see ``groups``)."""
        if self.groups == 1 and not self.flip:
            return self
        (fh, fw, _, c_out), c_in = self.filter_shape, self.input_shape[2]
        return ConvGeometry(
            self.input_shape,
            (fh, fw, c_in, c_out),
            self.stride,
            self.pads,
            self.dilation,
            self.padding_mode,
        )


def weights_for(geometry: Any, weights: Any) -> np.ndarray:
    """Validate ``geometry`` (a :class:`ConvGeometry`) and a filter matching its shape.

    Returns the 4-D filter from :func:`normalize_weights` (its own dtype).
    """
    if not isinstance(geometry, ConvGeometry):
        raise ValueError(f"geometry must be a ConvGeometry, got {type(geometry).__name__}")
    w = normalize_weights(weights)
    if w.shape != geometry.filter_shape:
        raise ValueError(
            f"weights shape {w.shape} does not match geometry.filter_shape {geometry.filter_shape}"
        )
    return w


def check_output_shape(shape: tuple[int, ...], geometry: ConvGeometry, name: str = "y") -> None:
    """Raise a ``ValueError`` naming ``name`` unless ``shape == geometry.output_shape``."""
    if tuple(shape) != geometry.output_shape:
        raise ValueError(
            f"{name} must have shape {geometry.output_shape} (the output of input_shape "
            f"{geometry.input_shape} with this filter and geometry), got {tuple(shape)}"
        )


def centred_output(y: Any, geometry: ConvGeometry, bias: Any) -> np.ndarray:
    """Validate a forward output ``y`` for ``geometry`` and return ``y − b``.

    ``y`` keeps its float dtype (see :func:`as_float_array`); ``bias`` is a scalar,
    ``(C_out,)`` or None. Raises a ``ValueError`` naming ``y`` or ``bias``.
    """
    y_arr = as_float_array(y, "y")
    check_output_shape(y_arr.shape, geometry)
    b = normalize_bias(bias, geometry.output_shape[2], y_arr.dtype)
    return y_arr - b if b is not None else y_arr
