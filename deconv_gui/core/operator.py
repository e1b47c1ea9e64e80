"""The convolution as a matrix-free ``scipy.sparse.linalg.LinearOperator``."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.sparse.linalg import LinearOperator

from . import _kernels
from .geometry import ConvGeometry, weights_for

__all__ = ["DENSE_COLUMN_LIMIT", "ConvOperator"]

#: ``to_dense`` refuses operators with more columns (unknowns) than this.
DENSE_COLUMN_LIMIT = 4096


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
    """

    def __init__(self, geometry: ConvGeometry, weights: Any, dtype: Any = None) -> None:
        w = weights_for(geometry, weights)
        dtype = np.dtype(dtype if dtype is not None else w.dtype)
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype}")
        self.geometry = geometry
        self.weights = w.astype(dtype, copy=False)
        super().__init__(dtype=dtype, shape=(geometry.n_equations, geometry.n_unknowns))

    def _matvec(self, x: np.ndarray) -> np.ndarray:
        image = np.asarray(x, dtype=self.dtype).reshape((1, *self.geometry.input_shape))
        return _kernels.forward(image, self.weights, self.geometry).ravel()

    def _rmatvec(self, y: np.ndarray) -> np.ndarray:
        out = np.asarray(y, dtype=self.dtype).reshape((1, *self.geometry.output_shape))
        return _kernels.adjoint(out, self.weights, self.geometry).ravel()

    def _matmat(self, x: np.ndarray) -> np.ndarray:
        images = np.asarray(x, dtype=self.dtype).T.reshape((-1, *self.geometry.input_shape))
        return _kernels.forward(images, self.weights, self.geometry).reshape(x.shape[1], -1).T

    def _rmatmat(self, y: np.ndarray) -> np.ndarray:
        outs = np.asarray(y, dtype=self.dtype).T.reshape((-1, *self.geometry.output_shape))
        return _kernels.adjoint(outs, self.weights, self.geometry).reshape(y.shape[1], -1).T

    def to_dense(self) -> np.ndarray:
        """The explicit ``(n_equations, n_unknowns)`` matrix, for tiny geometries only.

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
        return self._matmat(np.eye(n, dtype=self.dtype))
