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

from .groups import check_groups
from .padding import as_sides, check_padding_mode

__all__ = [
    "MAX_ARRAY_BYTES",
    "PADDING_NAMES",
    "ConvGeometry",
    "Hyper",
    "Padding",
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

Pair = tuple[int, int]
#: A stride or dilation as the public functions take it: one int for both axes, or
#: ``(rows, columns)``.
Hyper = int | tuple[int, int]
Sides = tuple[Pair, Pair]
#: Padding in any form :func:`as_padding` accepts.
Padding = int | Pair | Sides | Sequence[int] | Sequence[Sequence[int]] | str
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
    limit = MAX_ARRAY_BYTES // 8
    padded_size = padded[0] * padded[1] * c_in
    if padded_size > limit:
        name = "padding" if max(max(padding[0]), max(padding[1])) > 0 else "input_shape"
        raise ValueError(
            f"{name}: the zero-padded image would be {padded[0]:,}×{padded[1]:,}×{c_in} = "
            f"{padded_size:,} values ({_gib(padded_size * 8)}), more than the limit of "
            f"{_gib(MAX_ARRAY_BYTES)} per array"
        )
    outs = [(padded[a] - dilation[a] * (filter_shape[a] - 1) - 1) // stride[a] + 1 for a in (0, 1)]
    out_size = max(outs[0], 0) * max(outs[1], 0) * filter_shape[3]
    if out_size > limit:
        name = "padding" if max(max(padding[0]), max(padding[1])) > 0 else "input_shape"
        raise ValueError(
            f"{name}: the output would be {outs[0]:,}×{outs[1]:,}×{filter_shape[3]} = "
            f"{out_size:,} values ({_gib(out_size * 8)}), more than the limit of "
            f"{_gib(MAX_ARRAY_BYTES)} per array"
        )


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / 1024**3:,.1f} GiB"


def output_size(size: int, kernel: int, stride: int, padding: int | Pair, dilation: int) -> int:
    """One axis of the output size: ``floor((size + p_0 + p_1 - d(f - 1) - 1) / s) + 1``.

    ``padding`` is an int (``p_0 = p_1``) or ``(before, after)``. May be zero or
    negative when the dilated kernel is larger than the padded input; callers turn that
    into an error.
    """
    total = 2 * padding if isinstance(padding, (int, np.integer)) else sum(padding)
    return (size + total - dilation * (kernel - 1) - 1) // stride + 1


def as_float_array(array: Any, name: str, *, finite: bool = True) -> np.ndarray:
    """Convert ``array`` to a float ndarray, keeping float32/float64, else float64.

    ``finite=False`` leaves the NaN/inf check to the caller.

    Raises
    ------
    ValueError
        If the data is not numeric (strings, objects, complex) or holds NaN or inf.
    """
    try:
        arr = np.asarray(array)
    except Exception as exc:  # ragged lists and similar
        raise ValueError(f"{name} must be a numeric array: {exc}") from None
    if arr.dtype == np.float32 or arr.dtype == np.float64:
        pass
    elif arr.dtype.kind in "biu" or arr.dtype == np.float16:
        arr = arr.astype(np.float64)
    elif arr.dtype.kind == "f":  # longdouble and friends
        arr = arr.astype(np.float64)
    else:
        raise ValueError(
            f"{name} must hold real numbers (bool, int or float), got dtype {arr.dtype}"
        )
    # The sum of finite numbers is finite unless it overflows, and NaN or inf makes it
    # non-finite: one cheap reduction clears almost every array, the full check
    # (a boolean temporary as large as the array) runs only when the sum is not finite.
    if finite and arr.size:
        with np.errstate(over="ignore", invalid="ignore"):
            total = arr.sum()
        if not np.isfinite(total) and not np.isfinite(arr).all():
            raise ValueError(f"{name} contains NaN or inf; every value must be finite")
    return arr


def normalize_weights(weights: Any) -> np.ndarray:
    """Return the filter as a 4-D ``(f_h, f_w, C_in, C_out)`` float array.

    A 3-D filter ``(f_h, f_w, C_in)`` means ``C_out = 1``.
    """
    w = as_float_array(weights, "weights")
    if w.ndim == 3:
        w = w[..., np.newaxis]
    if w.ndim != 4:
        raise ValueError(
            "weights must have shape (f_h, f_w, C_in, C_out) or (f_h, f_w, C_in), "
            f"got {w.ndim} dimensions with shape {w.shape}"
        )
    if min(w.shape) < 1:
        raise ValueError(f"weights must have no empty axis, got shape {w.shape}")
    return w


def normalize_bias(
    bias: Any, c_out: int, dtype: np.dtype, *, leading_ones: bool = False
) -> np.ndarray | None:
    """Return the bias as a ``(C_out,)`` array of ``dtype``, or None for no bias.

    A scalar is broadcast to every output channel. Any other shape than ``(C_out,)``
    is refused (a ``(1, 1)`` array is a shape mistake worth naming), except
    ``(1, …, 1, C_out)`` with ``leading_ones`` (the question's TensorFlow-style bias).
    """
    if bias is None:
        return None
    b = as_float_array(bias, "bias")
    if b.ndim == 0:
        b = np.full(c_out, b, dtype=dtype)
    if leading_ones and b.ndim > 1 and b.size == b.shape[-1]:
        b = b.reshape(-1)
    if b.ndim != 1 or b.shape[0] != c_out:
        raise ValueError(
            f"bias must be a scalar or have shape (C_out,) = ({c_out},), got shape {b.shape}"
        )
    return b.astype(dtype, copy=False)


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


@dataclass(frozen=True, init=False)
class ConvGeometry:
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
        text = (
            f"{shape_in} → {shape_out} · {self.n_equations:,} equations, "
            f"{self.n_unknowns:,} unknowns"
        )
        if self.min_nullity:
            text += f" · at least {self.min_nullity:,} dimensions lost"
        return text


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
