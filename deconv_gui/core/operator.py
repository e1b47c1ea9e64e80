"""The convolution ``A`` as one validated object: a matrix-free ``LinearOperator``.

A :class:`ConvOperator` holds a :class:`~deconv_gui.core.ConvGeometry` and a filter
that matches it, checked once when it is built. Every reconstruction and analysis of
the core works on one: the convenience functions that take loose ``weights,
input_shape, stride, padding, dilation`` arguments build it with :func:`as_operator`
and accept a ready operator in place of ``weights`` too (the PyLops habit: build the
operator once, hand it to every solver).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import LinearOperator

from . import _kernels
from .geometry import (
    ConvGeometry,
    Hyper,
    Padding,
    as_padding,
    as_pair,
    normalize_weights,
    resolve_padding,
    weights_for,
)
from .groups import dense_filter
from .padding import padded_index

__all__ = ["DENSE_COLUMN_LIMIT", "ConvOperator", "as_operator"]

#: ``to_dense`` refuses operators with more columns (unknowns) than this.
DENSE_COLUMN_LIMIT = 4096

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
#: ``build(geometry, weights, dtype)`` of a transposed layer's geometry, set by .transposed
_TRANSPOSED: dict[str, Any] = {}


class ConvOperator(LinearOperator):
    """The linear part ``A`` of :func:`~deconv_gui.core.conv2d` on flattened single images.

    Parameters
    ----------
    geometry : ConvGeometry
        Shapes, stride, padding and dilation.
    weights : array_like
        Filter ``(f_h, f_w, C_in, C_out)`` (or 3-D), matching ``geometry.filter_shape``.
    dtype : numpy dtype, optional
        float32 or float64; defaults to the weights' dtype.

    Notes
    -----
    ``matvec`` takes ``x.ravel()`` of an ``(H, W, C_in)`` image and returns
    ``conv2d(x, weights).ravel()`` without bias; ``rmatvec`` is
    :func:`~deconv_gui.core.conv2d_transpose`. The shape is
    ``(H_out W_out C_out, H W C_in)``. scipy's and PyLops' solvers accept it directly.
    :meth:`apply` and :meth:`apply_adjoint` do the same on images (and batches) in
    their own float dtype, without flattening.

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import ConvGeometry, ConvOperator
    >>> op = ConvOperator(ConvGeometry((7, 7, 3), (3, 3, 3), stride=2), np.ones((3, 3, 3)))
    >>> op.shape
    (9, 147)
    >>> op.apply(np.ones((7, 7, 3))).shape
    (3, 3, 1)
    >>> float(op.matvec(np.ones(147))[0])
    27.0
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        geometry = args[0] if args else kwargs.get("geometry")
        if cls is ConvOperator and getattr(geometry, "kind", "conv") == "conv_transpose":
            # the geometry of a ConvTranspose2d layer: its operator, B = Aᵀ (built by
            # .transposed, which registers itself: this module never imports it)
            return _TRANSPOSED["build"](*args, **kwargs)
        return super().__new__(cls)

    def __init__(self, geometry: ConvGeometry, weights: Any, dtype: Any = None) -> None:
        if getattr(geometry, "kind", "conv") == "conv_transpose":
            return  # built by __new__
        self._setup(geometry, weights_for(geometry, weights), dtype)

    @classmethod
    def from_weights(
        cls,
        weights: Any,
        *,
        input_shape: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        dtype: Any = None,
        padding_mode: str = "zeros",
        groups: int = 1,
        flip: bool = False,
    ) -> ConvOperator:
        """The operator of ``conv2d(·, weights, stride=…, …)`` on images of ``input_shape``.

        Parameters
        ----------
        weights : array_like
            Filter ``(f_h, f_w, C_in, C_out)`` or ``(f_h, f_w, C_in)``.
        input_shape : tuple of int
            ``(H, W, C_in)`` of one image.
        stride, dilation : int or (int, int)
            As for :func:`~deconv_gui.core.conv2d`.
        padding : int, (int, int), ((top, bottom), (left, right)) or str
            As for :func:`~deconv_gui.core.conv2d` (``"same"``, ``"same_lower"``,
            ``"valid"`` too).
        dtype : numpy dtype, optional
            float32 or float64; defaults to the weights' dtype.
        padding_mode : str
            ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"``.
        groups : int
            PyTorch's ``groups`` (the filter is ``(f_h, f_w, C_in/groups, C_out)``).
        flip : bool
            True convolution (the kernel flipped) instead of cross-correlation.

        Raises
        ------
        ValueError
            Naming the argument, as :class:`~deconv_gui.core.ConvGeometry` does.

        Examples
        --------
        >>> import numpy as np
        >>> from deconv_gui.core import ConvOperator
        >>> op = ConvOperator.from_weights(np.ones((3, 3, 3)), input_shape=(7, 7, 3), stride=2)
        >>> op.geometry.output_shape
        (3, 3, 1)
        """
        w = normalize_weights(weights)
        if input_shape is None:
            raise ValueError("input_shape is required: (H, W, C_in) of one image")
        geometry = ConvGeometry(
            input_shape, w.shape, stride, padding, dilation, padding_mode, groups, flip
        )
        op = cls.__new__(cls)
        op._setup(geometry, w, dtype)
        return op

    def _setup(self, geometry: ConvGeometry, w: np.ndarray, dtype: Any) -> None:
        dtype = np.dtype(dtype if dtype is not None else w.dtype)
        if dtype not in _FLOATS:
            raise ValueError(f"dtype must be float32 or float64, got {dtype}")
        self.geometry = geometry
        self.weights = w.astype(dtype, copy=False)
        # one copy per float dtype, made once: apply() runs in the data's own precision
        with np.errstate(over="ignore"):  # float32 data with such weights overflows later,
            # where conv2d reports it in one sentence
            self._weights_as = {d: w.astype(d, copy=False) for d in _FLOATS}
        super().__init__(dtype=dtype, shape=(geometry.n_equations, geometry.n_unknowns))

    def replace(self, weights: Any = None, dtype: Any = None) -> ConvOperator:
        """The same geometry with other weights (of the same shape) and/or dtype."""
        w = self.weights if weights is None else weights
        return ConvOperator(self.geometry, w, dtype if dtype is not None else self.dtype)

    @property
    def transposed(self) -> bool:
        """True for a ConvTranspose2d layer (:class:`~deconv_gui.core.ConvTransposeOperator`)."""
        return False

    @property
    def conv(self) -> ConvOperator:
        """The strided conv ``A`` behind this operator: itself (its transpose for a
        ConvTranspose2d layer), e.g. for bounds that ``A`` and ``Aᵀ`` share."""
        return self

    # -- on images ------------------------------------------------------------------------
    def apply(self, x: Any) -> np.ndarray:
        """``A x`` for an image ``(H, W, C_in)`` or a batch ``(m, H, W, C_in)``, no bias.

        float32 stays float32, anything else is computed in float64. The values are
        not checked for NaN (:func:`~deconv_gui.core.conv2d` does that); the shape is.
        """
        arr, batched = self._batch(x, self.geometry.input_shape, "x")
        out = _kernels.forward(arr, self._weights_as[arr.dtype], self.geometry)
        return out if batched else out[0]

    def apply_adjoint(self, y: Any) -> np.ndarray:
        """``Aᵀ y`` for an output ``(H_out, W_out, C_out)`` or a batch of them.

        The counterpart of :meth:`apply` (same dtype rule); equals
        :func:`~deconv_gui.core.conv2d_transpose`.
        """
        arr, batched = self._batch(y, self.geometry.output_shape, "y")
        out = _kernels.adjoint(arr, self._weights_as[arr.dtype], self.geometry)
        return out if batched else out[0]

    @staticmethod
    def _batch(array: Any, shape: tuple[int, int, int], name: str) -> tuple[np.ndarray, bool]:
        arr = np.asarray(array)
        if arr.dtype not in _FLOATS:
            arr = arr.astype(np.float64)
        if arr.shape[-3:] != shape or arr.ndim not in (3, 4):
            raise ValueError(f"{name} must have shape {shape} or (m, *{shape}), got {arr.shape}")
        return (arr, True) if arr.ndim == 4 else (arr[np.newaxis], False)

    # -- the LinearOperator protocol, on flattened vectors ----------------------------------
    # (through apply and apply_adjoint, so that ConvTransposeOperator inherits it as it is)
    def _matvec(self, x: np.ndarray) -> np.ndarray:
        image = np.asarray(x, dtype=self.dtype).reshape((1, *self.geometry.input_shape))
        return self.apply(image).ravel()

    def _rmatvec(self, y: np.ndarray) -> np.ndarray:
        out = np.asarray(y, dtype=self.dtype).reshape((1, *self.geometry.output_shape))
        return self.apply_adjoint(out).ravel()

    def _matmat(self, x: np.ndarray) -> np.ndarray:
        images = np.asarray(x, dtype=self.dtype).T.reshape((-1, *self.geometry.input_shape))
        return self.apply(images).reshape(x.shape[1], -1).T

    def _rmatmat(self, y: np.ndarray) -> np.ndarray:
        outs = np.asarray(y, dtype=self.dtype).T.reshape((-1, *self.geometry.output_shape))
        return self.apply_adjoint(outs).reshape(y.shape[1], -1).T

    def to_dense(self, dtype: Any = None) -> np.ndarray:
        """The explicit ``(n_equations, n_unknowns)`` matrix, for tiny geometries only.

        ``dtype`` is float32 or float64 (default: the operator's).

        Raises
        ------
        ValueError
            If the operator has more than ``DENSE_COLUMN_LIMIT`` columns.
        """
        n = self.shape[1]
        if n > DENSE_COLUMN_LIMIT:
            raise ValueError(
                f"to_dense is for tiny geometries: this operator has {n:,} columns "
                f"(input_shape {self.geometry.input_shape}), more than the limit of "
                f"{DENSE_COLUMN_LIMIT:,}; use it matrix-free"
            )
        eye = np.eye(n, dtype=np.dtype(dtype if dtype is not None else self.dtype))
        return self.apply(eye.reshape((n, *self.geometry.input_shape))).reshape(n, -1).T

    def to_sparse(self, dtype: Any = None) -> sparse.csr_array:
        """The explicit matrix as a ``scipy.sparse.csr_array``, equal to :meth:`to_dense`.

        Built from the filter taps' index arithmetic (no dense intermediate): row
        ``(h W_out + w) C_out + o`` holds ``w[i, j, c, o]`` in column
        ``(r W + q) C_in + c`` for every tap whose input pixel ``(r, q)`` is inside the
        image (zero padding contributes nothing; the other padding modes add the tap to
        the image pixel the border copies). It has at most ``H_out W_out C_out f_h f_w
        C_in`` stored entries (zero weights are not stored), which must fit in memory.
        ``dtype`` is float32 or float64 (default: the operator's).

        Examples
        --------
        >>> import numpy as np
        >>> from deconv_gui.core import ConvOperator
        >>> op = ConvOperator.from_weights(np.ones((3, 3, 1)), input_shape=(4, 4, 1), padding=1)
        >>> a = op.to_sparse()
        >>> a.shape, a.nnz
        ((16, 16), 100)
        >>> bool(np.array_equal(a.toarray(), op.to_dense()))
        True
        """
        g = self.geometry.dense()  # groups and flip as one dense filter
        dtype = np.dtype(dtype if dtype is not None else self.dtype)
        if dtype not in _FLOATS:
            raise ValueError(f"dtype must be float32 or float64, got {dtype}")
        geom = self.geometry
        weights = dense_filter(self._weights_as[dtype], geom.groups, geom.flip)
        height, width, c_in = g.input_shape
        h_out, w_out, c_out = g.output_shape
        fh, fw = g.filter_shape[:2]
        # input row (column) read by tap i (j) for output row h (column w), -1 outside
        rows_in = _tap_index(height, fh, h_out, g, 0)
        cols_in = _tap_index(width, fw, w_out, g, 1)
        # axes (h, w, o, i, j, c): the row index grows with (h, w, o), so CSR order is free
        r = rows_in[:, None, None, :, None, None]
        q = cols_in[None, :, None, None, :, None]
        c = np.arange(c_in)[None, None, None, None, None, :]
        w = weights.transpose(3, 0, 1, 2)[None, None]  # (1, 1, o, i, j, c)
        keep = (r >= 0) & (q >= 0) & (w != 0)
        shape = (h_out, w_out, c_out, fh, fw, c_in)
        keep = np.broadcast_to(keep, shape)
        out_index = np.arange(h_out * w_out * c_out).reshape(h_out, w_out, c_out, 1, 1, 1)
        row = np.broadcast_to(out_index, shape)[keep]
        col = np.broadcast_to((r * width + q) * c_in + c, shape)[keep]
        data = np.broadcast_to(w, shape)[keep]
        # the other padding modes read some image pixels through several taps: the
        # conversion sums those duplicates
        matrix = sparse.coo_array((data, (row, col)), shape=self.shape).tocsr()
        matrix.sum_duplicates()
        matrix.eliminate_zeros()
        return matrix


def as_operator(
    weights: Any,
    input_shape: Any = None,
    stride: Hyper = 1,
    padding: Padding = 0,
    dilation: Hyper = 1,
    padding_mode: str = "zeros",
    groups: int = 1,
    flip: bool = False,
) -> ConvOperator:
    """``weights`` as a :class:`ConvOperator`: built from loose arguments, or checked.

    The one place where the convenience functions' loose geometry arguments become an
    operator, validated once.

    Parameters
    ----------
    weights : array_like or ConvOperator
        A filter, or a ready operator.
    input_shape : tuple of int, optional
        ``(H, W, C_in)``: required with a filter; with an operator, it may be left
        out and must otherwise equal the operator's.
    stride, padding, dilation, padding_mode, groups, flip
        With a filter, as for :func:`~deconv_gui.core.conv2d`. With an operator, its
        geometry is used: a value other than the default must agree with it.

    Raises
    ------
    ValueError
        Naming the argument that is invalid or disagrees with the operator.

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import as_operator
    >>> op = as_operator(np.ones((3, 3, 1)), (8, 8, 1), stride=2)
    >>> as_operator(op) is op
    True
    >>> as_operator(op, stride=3)
    Traceback (most recent call last):
    ...
    ValueError: stride (3, 3) disagrees with the operator's stride (2, 2)
    """
    if not isinstance(weights, ConvOperator):
        return ConvOperator.from_weights(
            weights,
            input_shape=input_shape,
            stride=stride,
            padding=padding,
            dilation=dilation,
            padding_mode=padding_mode,
            groups=groups,
            flip=flip,
        )
    geometry = weights.geometry
    if input_shape is not None and tuple(input_shape) != geometry.input_shape:
        raise ValueError(
            f"input_shape {tuple(input_shape)} disagrees with the operator's input_shape "
            f"{geometry.input_shape}"
        )
    for name, value, default, minimum in (("stride", stride, 1, 1), ("dilation", dilation, 1, 1)):
        pair = as_pair(value, name, minimum=minimum)
        if pair != (default, default) and pair != getattr(geometry, name):
            raise ValueError(
                f"{name} {pair} disagrees with the operator's {name} {getattr(geometry, name)}"
            )
    if as_padding(padding) != ((0, 0), (0, 0)):
        g = geometry
        pads = resolve_padding(padding, g.input_shape[:2], g.filter_shape[:2], g.stride, g.dilation)
        if pads != g.pads:
            raise ValueError(
                f"padding {padding!r} disagrees with the operator's padding "
                f"{g.padding if g.symmetric else g.pads}"
            )
    others: tuple[tuple[str, Any, Any], ...] = (
        ("padding_mode", padding_mode, "zeros"),
        ("groups", groups, 1),
        ("flip", flip, False),
    )
    for name, given, default in others:
        if given != default and given != getattr(geometry, name):
            raise ValueError(
                f"{name} {given!r} disagrees with the operator's {name} {getattr(geometry, name)!r}"
            )
    return weights


def _tap_index(n: int, f: int, n_out: int, g: ConvGeometry, axis: int) -> np.ndarray:
    """``(n_out, f)``: the input index tap ``i`` reads for output ``h`` (one axis), -1 outside."""
    s, d = g.stride[axis], g.dilation[axis]
    padded = s * np.arange(n_out)[:, None] + d * np.arange(f)[None, :]
    return padded_index(n, g.pads[axis], g.padding_mode)[padded]
