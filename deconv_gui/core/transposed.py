"""The ConvTranspose2d layer as the layer under study: ``B = Aᵀ`` of a strided conv ``A``.

A decoder's ``ConvTranspose2d`` maps a small map to a larger image. As a linear map it
is the adjoint of the strided convolution with the same weights, so
:class:`ConvTransposeOperator` wraps a :class:`~deconv_gui.core.ConvOperator` ``A``
and swaps its directions: ``apply`` is ``Aᵀ`` (the upsampling, with its checkerboard)
and ``apply_adjoint`` is ``A`` (the strided conv). Every solver and analysis that takes
an operator then studies ``B``: its transpose is the strided conv, its pseudo-inverse
``B⁺``, its null space what the decoder cannot produce.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

import numpy as np
from scipy import sparse

from . import operator as _operator
from .conv import short_output
from .geometry import (
    ConvGeometry,
    Pair,
    ShapeCounts,
    Sides,
    as_pair,
    normalize_weights,
    transpose_input_shape,
)
from .operator import ConvOperator

__all__ = ["ConvTransposeOperator", "TransposedGeometry", "operator_of"]

T = TypeVar("T")


class _OfConv(Generic[T]):
    """A read-only attribute of :class:`TransposedGeometry` that is its conv's, by name."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, geometry: None, owner: type) -> _OfConv[T]: ...
    @overload
    def __get__(self, geometry: TransposedGeometry, owner: type | None = None) -> T: ...
    def __get__(self, geometry: Any, owner: Any = None) -> Any:
        return self if geometry is None else getattr(geometry.conv, self.name)


@dataclass(frozen=True)
class TransposedGeometry(ShapeCounts):
    """The shapes of ``B = Aᵀ``: ``input_shape`` the small map, ``output_shape`` the image.

    ``conv`` is the geometry of ``A`` (its input is ``B``'s output); the filter, stride,
    padding, dilation, groups and flip are ``A``'s, as PyTorch's ``ConvTranspose2d``
    names them. ``output_padding`` is PyTorch's.
    """

    conv: ConvGeometry
    input_shape: tuple[int, int, int]
    output_padding: Pair

    kind = "conv_transpose"
    LAYER = "transposed conv"

    @property
    def output_shape(self) -> tuple[int, int, int]:
        return self.conv.input_shape

    # the filter and the hyper-parameters are A's, as PyTorch's ConvTranspose2d names them
    filter_shape = _OfConv[tuple[int, int, int, int]]()
    stride = _OfConv[Pair]()
    padding = _OfConv[Pair]()
    pads = _OfConv[Sides]()
    symmetric = _OfConv[bool]()
    dilation = _OfConv[Pair]()
    padding_mode = _OfConv[str]()
    groups = _OfConv[int]()
    flip = _OfConv[bool]()


class ConvTransposeOperator(ConvOperator):
    """PyTorch's ``ConvTranspose2d`` (no bias) as an operator ``B = Aᵀ`` on single images.

    Build it with :meth:`from_weights` (PyTorch's arguments) or from the conv ``A``
    (:meth:`of`). ``geometry`` is a :class:`TransposedGeometry`; ``conv`` is ``A``.

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import ConvTransposeOperator
    >>> op = ConvTransposeOperator.from_weights(
    ...     np.ones((3, 3, 2, 4)), input_shape=(28, 28, 4), stride=2, padding=1, output_padding=1
    ... )
    >>> op.geometry.output_shape, op.shape
    ((56, 56, 2), (6272, 3136))
    >>> bool(np.allclose(op.apply_adjoint(op.apply(np.ones((28, 28, 4)))).shape, (28, 28, 4)))
    True
    """

    _conv: ConvOperator

    @property
    def conv(self) -> ConvOperator:
        """``A``, the strided conv whose transpose this layer is."""
        return self._conv

    @classmethod
    def from_weights(
        cls,
        weights: Any,
        *,
        input_shape: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = None,
        dilation: Any = 1,
        dtype: Any = None,
        padding_mode: str = "zeros",
        groups: int = 1,
        flip: bool = False,
    ) -> ConvTransposeOperator:
        """``F.conv_transpose2d(·, W_t, …)`` on maps of ``input_shape`` ``(H, W, C)``.

        ``weights`` is ``W_t.permute(2, 3, 1, 0)``: ``(k_h, k_w, C_out/groups, C_in)``
        for PyTorch's ``(C_in, C_out/groups, k_h, k_w)``. Raises a ``ValueError``
        naming ``output_padding`` (at least ``max(stride, dilation)``), ``padding`` or
        another argument.
        """
        w = normalize_weights(weights)
        shape = tuple(input_shape) if input_shape is not None else ()
        if len(shape) != 3:
            raise ValueError(f"input_shape must be (H, W, C) of the small map, got {input_shape!r}")
        if shape[2] != w.shape[3]:
            raise ValueError(
                f"channel mismatch: the map has {shape[2]} channels but weights expect "
                f"{w.shape[3]} (their last axis, shape {w.shape})"
            )
        c_out = w.shape[2] * groups if isinstance(groups, int) and groups > 0 else w.shape[2]
        big = transpose_input_shape(
            shape, w.shape, stride, padding, output_padding, dilation, c_out
        )
        geometry = ConvGeometry(big, w.shape, stride, padding, dilation, padding_mode, groups, flip)
        op = output_padding if output_padding is not None else _output_padding(geometry, shape)
        return cls.of(
            ConvOperator(geometry, w, dtype), shape, as_pair(op, "output_padding", minimum=0)
        )

    @classmethod
    def of(
        cls, conv: ConvOperator, input_shape: Any = None, output_padding: Any = None
    ) -> ConvTransposeOperator:
        """``B = Aᵀ`` of the conv ``A``; ``input_shape`` is ``A``'s output (or, with an
        ``output_padding`` from the stride up to the dilation, that output cropped)."""
        shape = tuple(input_shape) if input_shape is not None else conv.geometry.output_shape
        if shape != conv.geometry.output_shape and not short_output(shape, conv.geometry):
            raise ValueError(
                f"input_shape {shape} is not the output {conv.geometry.output_shape} of the "
                "conv (nor that output cut by an output_padding below the dilation)"
            )
        if output_padding is None:
            output_padding = _output_padding(conv.geometry, shape)
        op = cls.__new__(cls)
        op._conv = conv
        op.geometry = TransposedGeometry(
            conv.geometry, (int(shape[0]), int(shape[1]), int(shape[2])), tuple(output_padding)
        )
        op.weights = conv.weights
        op._weights_as = conv._weights_as
        n_in, n_out = op.geometry.n_unknowns, op.geometry.n_equations
        super(ConvOperator, op).__init__(dtype=conv.dtype, shape=(n_out, n_in))
        return op

    def replace(self, weights: Any = None, dtype: Any = None) -> ConvTransposeOperator:
        """The same layer with other weights (same shape) and/or dtype."""
        g: TransposedGeometry = self.geometry  # type: ignore[assignment]
        return ConvTransposeOperator.of(
            self.conv.replace(weights, dtype), g.input_shape, g.output_padding
        )

    @property
    def transposed(self) -> bool:
        return True

    # -- B = Aᵀ: the two directions swapped, with A's extra outputs when output_padding ≥ s
    def _extend(self, arr: np.ndarray) -> np.ndarray:
        full = self.conv.geometry.output_shape
        if arr.shape[1:] == full:
            return arr
        extra = ((0, 0), (0, full[0] - arr.shape[1]), (0, full[1] - arr.shape[2]), (0, 0))
        return np.pad(arr, extra)

    def _crop(self, arr: np.ndarray) -> np.ndarray:
        h, w, _ = self.geometry.input_shape
        return arr if arr.shape[1:3] == (h, w) else np.ascontiguousarray(arr[:, :h, :w])

    def apply(self, x: Any) -> np.ndarray:
        """``B x = Aᵀ x``: the upsampled output of a map ``(H, W, C)`` or a batch."""
        arr, batched = self._batch(x, self.geometry.input_shape, "x")
        out = self.conv.apply_adjoint(self._extend(arr))
        return out if batched else out[0]

    def apply_adjoint(self, y: Any) -> np.ndarray:
        """``Bᵀ y = A y``: the strided conv of an image (or batch) of the output shape."""
        arr, batched = self._batch(y, self.geometry.output_shape, "y")
        out = self._crop(self.conv.apply(arr))
        return out if batched else out[0]

    def to_sparse(self, dtype: Any = None) -> sparse.csr_array:
        """``Aᵀ`` as a ``csr_array`` (``A``'s rows of the cropped outputs dropped)."""
        matrix = self.conv.to_sparse(dtype)
        full, (h, w, c) = self.conv.geometry.output_shape, self.geometry.input_shape
        if full != (h, w, c):
            keep = np.arange(int(np.prod(full))).reshape(full)[:h, :w].ravel()
            matrix = matrix[keep]
        return sparse.csr_array(matrix.T)


def _output_padding(geometry: ConvGeometry, map_shape: tuple[int, ...]) -> Pair:
    """PyTorch's ``output_padding`` that gives ``geometry``'s input from a map of ``map_shape``."""
    pads = []
    for a in (0, 1):
        s, d, f = geometry.stride[a], geometry.dilation[a], geometry.filter_shape[a]
        n_min = (map_shape[a] - 1) * s - sum(geometry.pads[a]) + d * (f - 1) + 1
        pads.append(geometry.input_shape[a] - n_min)
    return pads[0], pads[1]


def operator_of(geometry: Any, weights: Any, dtype: Any = None) -> ConvOperator:
    """The operator of a :class:`~deconv_gui.core.ConvGeometry` or a
    :class:`TransposedGeometry` with these weights (``ConvOperator(geometry, …)`` calls
    this for a transposed geometry)."""
    if isinstance(geometry, TransposedGeometry):
        conv = ConvOperator(geometry.conv, weights, dtype)
        return ConvTransposeOperator.of(conv, geometry.input_shape, geometry.output_padding)
    return ConvOperator(geometry, weights, dtype)


_operator._TRANSPOSED["build"] = operator_of
