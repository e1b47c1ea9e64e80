"""Shape arithmetic and argument validation for strided, padded, dilated 2-D convolution.

Everything here is pure Python/numpy. Every public function of the core funnels its
arguments through these helpers, so that bad input raises a `ValueError` whose
message names the argument and the rule it broke.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .groups import check_groups
from .padding import check_padding_mode

__all__ = [
    "MAX_ARRAY_BYTES",
    "ConvGeometry",
    "as_float_array",
    "as_pair",
    "centred_output",
    "check_output_shape",
    "normalize_bias",
    "normalize_weights",
    "output_size",
    "weights_for",
]

Pair = tuple[int, int]


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
    padding: Pair,
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
    padded = (h + 2 * padding[0], w + 2 * padding[1])
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
        name = "padding" if max(padding) > 0 else "input_shape"
        raise ValueError(
            f"{name}: the zero-padded image would be {padded[0]:,}×{padded[1]:,}×{c_in} = "
            f"{padded_size:,} values ({_gib(padded_size * 8)}), more than the limit of "
            f"{_gib(MAX_ARRAY_BYTES)} per array"
        )
    outs = [(padded[a] - dilation[a] * (filter_shape[a] - 1) - 1) // stride[a] + 1 for a in (0, 1)]
    out_size = max(outs[0], 0) * max(outs[1], 0) * filter_shape[3]
    if out_size > limit:
        name = "padding" if max(padding) > 0 else "input_shape"
        raise ValueError(
            f"{name}: the output would be {outs[0]:,}×{outs[1]:,}×{filter_shape[3]} = "
            f"{out_size:,} values ({_gib(out_size * 8)}), more than the limit of "
            f"{_gib(MAX_ARRAY_BYTES)} per array"
        )


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / 1024**3:,.1f} GiB"


def output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """One axis of the output size: ``floor((size + 2p - d(f - 1) - 1) / s) + 1``.

    May be zero or negative when the dilated kernel is larger than the padded input;
    callers turn that into an error.
    """
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


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


def normalize_bias(bias: Any, c_out: int, dtype: np.dtype) -> np.ndarray | None:
    """Return the bias as a ``(C_out,)`` array of ``dtype``, or None for no bias.

    A scalar is broadcast to every output channel.
    """
    if bias is None:
        return None
    b = as_float_array(bias, "bias")
    if b.ndim == 0:
        b = np.full(c_out, b, dtype=dtype)
    b = b.reshape(-1) if b.ndim > 1 and b.size == b.shape[-1] else b
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
    stride, padding, dilation : int or (int, int)
        Stride (>= 1), padding on each side (>= 0) and dilation (>= 1),
        for both axes or as an ``(h, w)`` pair. Stored as pairs.
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

    .. math:: n_{out} = \\lfloor (n + 2p - d(f - 1) - 1) / s \\rfloor + 1,

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
    """

    input_shape: tuple[int, int, int]
    filter_shape: tuple[int, int, int, int]
    stride: Pair = (1, 1)
    padding: Pair = (0, 0)
    dilation: Pair = (1, 1)
    padding_mode: str = "zeros"
    groups: int = 1
    flip: bool = False

    def __init__(
        self,
        input_shape: Sequence[int],
        filter_shape: Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] = 0,
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
        padding = as_pair(padding, "padding", minimum=0)
        dilation = as_pair(dilation, "dilation", minimum=1)
        padding_mode = check_padding_mode(padding_mode, padding, (input_shape[0], input_shape[1]))
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
        object.__setattr__(self, "padding", padding)
        object.__setattr__(self, "dilation", dilation)
        object.__setattr__(self, "padding_mode", padding_mode)
        object.__setattr__(self, "groups", int(groups))
        object.__setattr__(self, "flip", bool(flip))
        if groups != 1:  # the filter as given: C_in / groups on its third axis
            grouped = (*filter_shape[:2], filter_shape[2] // groups, filter_shape[3])
            object.__setattr__(self, "filter_shape", grouped)
        _check_sizes(input_shape, filter_shape, stride, padding, dilation)
        for axis, label in ((0, "height"), (1, "width")):
            n_out = output_size(
                input_shape[axis], filter_shape[axis], stride[axis], padding[axis], dilation[axis]
            )
            if n_out < 1:
                span = dilation[axis] * (filter_shape[axis] - 1) + 1
                raise ValueError(
                    f"empty output: the dilated filter {label} {span} is larger than the padded "
                    f"image {label} {input_shape[axis] + 2 * padding[axis]} "
                    f"(weights {filter_shape[axis]} with dilation {dilation[axis]}, "
                    f"input_shape {input_shape[axis]} with padding {padding[axis]})"
                )

    @property
    def output_shape(self) -> tuple[int, int, int]:
        """``(H_out, W_out, C_out)``."""
        h, w, _ = self.input_shape
        fh, fw, _, c_out = self.filter_shape
        return (
            output_size(h, fh, self.stride[0], self.padding[0], self.dilation[0]),
            output_size(w, fw, self.stride[1], self.padding[1], self.dilation[1]),
            c_out,
        )

    def unpadded(self) -> ConvGeometry:
        """The same convolution on the padded image, without padding (``F.pad`` done)."""
        (h, w, c_in), (ph, pw) = self.input_shape, self.padding
        shape = (h + 2 * ph, w + 2 * pw, c_in)
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
            self.padding,
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
